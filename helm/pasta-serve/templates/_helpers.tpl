{{/*
Names, labels and the pieces every component's pod shares. Component templates call these with a dict:
  ctx        the root context ($)
  component  gateway | interpreter | decoder-worker
  values     the component's values (for a worker: its pool, merged over decoderWorker.poolDefaults)
  pool       a worker pool's name (workers only)
*/}}

{{- define "pasta.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "pasta.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/* The name of a component's objects: <fullname>-gateway, <fullname>-interpreter, <fullname>-worker-<pool>. */}}
{{- define "pasta.componentName" -}}
{{- $full := include "pasta.fullname" .ctx -}}
{{- if .pool -}}
{{- printf "%s-worker-%s" ($full | trunc (int (sub 55 (len .pool))) | trimSuffix "-") .pool -}}
{{- else -}}
{{- printf "%s-%s" ($full | trunc 51 | trimSuffix "-") .component -}}
{{- end -}}
{{- end -}}

{{- define "pasta.selectorLabels" -}}
app.kubernetes.io/name: {{ include "pasta.name" .ctx }}
app.kubernetes.io/instance: {{ .ctx.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- if .pool }}
pasta-serve.io/worker-pool: {{ .pool }}
{{- end }}
{{- end -}}

{{- define "pasta.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .ctx.Chart.Name .ctx.Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{ include "pasta.selectorLabels" . }}
app.kubernetes.io/version: {{ .ctx.Chart.AppVersion | quote }}
app.kubernetes.io/part-of: pasta-serve
app.kubernetes.io/managed-by: {{ .ctx.Release.Service }}
{{- end -}}

{{/* Labels of the chart's own objects that belong to no component (Secrets, shared ConfigMaps). */}}
{{- define "pasta.chartLabels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
app.kubernetes.io/name: {{ include "pasta.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/part-of: pasta-serve
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end -}}

{{- define "pasta.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "pasta.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{/* registry/repository:tag; the tag defaults to the chart's appVersion, never "latest". */}}
{{- define "pasta.image" -}}
{{- $image := .values.image -}}
{{- $registry := default .ctx.Values.global.imageRegistry $image.registry -}}
{{- $tag := default .ctx.Chart.AppVersion $image.tag | toString -}}
{{- if eq $tag "latest" -}}
{{- fail (printf "%s: image tag \"latest\" is not allowed; pin a version" .component) -}}
{{- end -}}
{{- if $image.digest -}}
{{- printf "%s%s@%s" (ternary "" (printf "%s/" $registry) (empty $registry)) $image.repository $image.digest -}}
{{- else -}}
{{- printf "%s%s:%s" (ternary "" (printf "%s/" $registry) (empty $registry)) $image.repository $tag -}}
{{- end -}}
{{- end -}}

{{/*
Recursive merge of the map `src` into the map `dst` (in place): keys of `src` win, maps merge key by key.
Unlike Sprig's merge functions it lets false, 0 and "" override a default.
*/}}
{{- define "pasta.deepMerge" -}}
{{- $dst := index . 0 -}}
{{- $src := index . 1 -}}
{{- range $key, $value := $src -}}
{{- if and (kindIs "map" $value) (hasKey $dst $key) (kindIs "map" (index $dst $key)) -}}
{{- include "pasta.deepMerge" (list (index $dst $key) $value) -}}
{{- else -}}
{{- $_ := set $dst $key $value -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/* A worker pool's values: decoderWorker.poolDefaults with the pool's own values over them, as YAML. */}}
{{- define "pasta.poolValues" -}}
{{- $merged := deepCopy .ctx.Values.decoderWorker.poolDefaults -}}
{{- include "pasta.deepMerge" (list $merged (deepCopy .pool)) -}}
{{- toYaml $merged -}}
{{- end -}}

{{/* The worker pools as a list of merged values (YAML: `pools: [...]`). */}}
{{- define "pasta.pools" -}}
{{- $pools := list -}}
{{- range .Values.decoderWorker.pools -}}
{{- $pools = append $pools (include "pasta.poolValues" (dict "ctx" $ "pool" .) | fromYaml) -}}
{{- end -}}
{{- toYaml (dict "pools" $pools) -}}
{{- end -}}

{{/* Names of the Secrets (the chart's own, or the existing ones given). */}}
{{- define "pasta.apiKeysSecret" -}}
{{- default (printf "%s-api-keys" (include "pasta.fullname" .)) .Values.auth.existingSecret -}}
{{- end -}}
{{- define "pasta.redisSecret" -}}
{{- default (printf "%s-redis" (include "pasta.fullname" .)) .Values.redis.existingSecret -}}
{{- end -}}
{{- define "pasta.kafkaSaslSecret" -}}
{{- default (printf "%s-kafka-sasl" (include "pasta.fullname" .)) .Values.kafka.sasl.existingSecret -}}
{{- end -}}

{{- define "pasta.kafkaSecurityProtocol" -}}
{{- if .Values.kafka.sasl.enabled -}}
{{- ternary "SASL_SSL" "SASL_PLAINTEXT" .Values.kafka.tls.enabled -}}
{{- else -}}
{{- ternary "SSL" "PLAINTEXT" .Values.kafka.tls.enabled -}}
{{- end -}}
{{- end -}}

{{- define "pasta.kafkaLoginModule" -}}
{{- if eq .Values.kafka.sasl.mechanism "PLAIN" -}}
org.apache.kafka.common.security.plain.PlainLoginModule
{{- else -}}
org.apache.kafka.common.security.scram.ScramLoginModule
{{- end -}}
{{- end -}}

{{/* The model's directory inside the containers. */}}
{{- define "pasta.modelDir" -}}
{{- if eq .Values.model.source "image" -}}
{{- .Values.model.imagePath -}}
{{- else -}}
{{- printf "/models/%s" .Values.model.name -}}
{{- end -}}
{{- end -}}

{{/*
Environment every service shares: Kafka and Redis connections (credentials from Secrets), the JVM's flags and
the component's own variables.
*/}}
{{- define "pasta.commonEnv" -}}
{{- $v := .ctx.Values -}}
- name: PASTA_KAFKA
  value: {{ $v.kafka.bootstrapServers | quote }}
- name: PASTA_REDIS_HOST
  value: {{ $v.redis.host | quote }}
- name: PASTA_REDIS_PORT
  value: {{ $v.redis.port | quote }}
{{- if $v.redis.username }}
- name: SPRING_DATA_REDIS_USERNAME
  value: {{ $v.redis.username | quote }}
{{- end }}
{{- if or $v.redis.password $v.redis.existingSecret }}
- name: SPRING_DATA_REDIS_PASSWORD
  valueFrom:
    secretKeyRef:
      name: {{ include "pasta.redisSecret" .ctx }}
      key: {{ $v.redis.passwordKey }}
{{- end }}
{{- if $v.redis.tls.enabled }}
- name: SPRING_DATA_REDIS_SSL_ENABLED
  value: "true"
{{- end }}
{{- if or $v.kafka.sasl.enabled $v.kafka.tls.enabled }}
- name: SPRING_KAFKA_PROPERTIES_SECURITY_PROTOCOL
  value: {{ include "pasta.kafkaSecurityProtocol" .ctx }}
{{- end }}
{{- if $v.kafka.sasl.enabled }}
- name: KAFKA_SASL_USERNAME
  valueFrom:
    secretKeyRef:
      name: {{ include "pasta.kafkaSaslSecret" .ctx }}
      key: {{ $v.kafka.sasl.usernameKey }}
- name: KAFKA_SASL_PASSWORD
  valueFrom:
    secretKeyRef:
      name: {{ include "pasta.kafkaSaslSecret" .ctx }}
      key: {{ $v.kafka.sasl.passwordKey }}
- name: SPRING_KAFKA_PROPERTIES_SASL_MECHANISM
  value: {{ $v.kafka.sasl.mechanism }}
- name: SPRING_KAFKA_PROPERTIES_SASL_JAAS_CONFIG
  value: {{ printf "%s required username=\"$(KAFKA_SASL_USERNAME)\" password=\"$(KAFKA_SASL_PASSWORD)\";" (include "pasta.kafkaLoginModule" .ctx) | quote }}
{{- end }}
{{- if and $v.kafka.tls.enabled $v.kafka.tls.caSecret.name }}
- name: SPRING_KAFKA_PROPERTIES_SSL_TRUSTSTORE_TYPE
  value: PEM
- name: SPRING_KAFKA_PROPERTIES_SSL_TRUSTSTORE_LOCATION
  value: {{ printf "/etc/pasta/kafka-ca/%s" $v.kafka.tls.caSecret.key | quote }}
{{- end }}
- name: JAVA_TOOL_OPTIONS
  value: {{ include "pasta.javaOpts" . | quote }}
{{- with .values.env }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{/*
CPUs the container may count on: its CPU request rounded up (0 when none is set). Without a CPU limit the JVM and
ONNX Runtime would otherwise size their thread pools for every core of the node.
*/}}
{{- define "pasta.cpuCount" -}}
{{- $cpu := toString (dig "requests" "cpu" "" (.values.resources | default dict)) -}}
{{- if not $cpu -}}
0
{{- else if hasSuffix "m" $cpu -}}
{{- max 1 (div (add (trimSuffix "m" $cpu | int) 999) 1000) -}}
{{- else -}}
{{- max 1 (ceil ($cpu | float64) | int) -}}
{{- end -}}
{{- end -}}

{{/* The JVM's flags: the values' javaOpts, plus -XX:ActiveProcessorCount from the CPU request unless given. */}}
{{- define "pasta.javaOpts" -}}
{{- $cpus := include "pasta.cpuCount" . | int -}}
{{- if and (gt $cpus 0) (not (contains "ActiveProcessorCount" .values.javaOpts)) -}}
{{- printf "%s -XX:ActiveProcessorCount=%d" .values.javaOpts $cpus -}}
{{- else -}}
{{- .values.javaOpts -}}
{{- end -}}
{{- end -}}

{{/* Volumes every pod has: /tmp (the only path written), the component's configuration, Kafka's CA. */}}
{{- define "pasta.commonVolumes" -}}
- name: tmp
  emptyDir: {}
- name: config
  configMap:
    name: {{ include "pasta.componentName" . }}
{{- if and .ctx.Values.kafka.tls.enabled .ctx.Values.kafka.tls.caSecret.name }}
- name: kafka-ca
  secret:
    secretName: {{ .ctx.Values.kafka.tls.caSecret.name }}
{{- end }}
{{- end -}}

{{- define "pasta.commonVolumeMounts" -}}
- name: tmp
  mountPath: /tmp
- name: config
  # Spring Boot reads ./config/application.yml (the working directory is /opt/pasta) over the built-in one
  mountPath: /opt/pasta/config
  readOnly: true
{{- if and .ctx.Values.kafka.tls.enabled .ctx.Values.kafka.tls.caSecret.name }}
- name: kafka-ca
  mountPath: /etc/pasta/kafka-ca
  readOnly: true
{{- end }}
{{- end -}}

{{/* The model's volume (none when the image's own model is served). */}}
{{- define "pasta.modelVolume" -}}
{{- $m := .Values.model -}}
{{- if eq $m.source "pvc" }}
- name: model
  persistentVolumeClaim:
    claimName: {{ required "model.pvc.claimName is required when model.source is pvc" $m.pvc.claimName }}
    readOnly: true
{{- else if eq $m.source "initContainer" }}
- name: model
  emptyDir:
    {{- with $m.initContainer.sizeLimit }}
    sizeLimit: {{ . }}
    {{- end }}
{{- end }}
{{- end -}}

{{- define "pasta.modelVolumeMount" -}}
{{- $m := .Values.model -}}
{{- if ne $m.source "image" }}
- name: model
  mountPath: {{ include "pasta.modelDir" . }}
  readOnly: true
  {{- if and (eq $m.source "pvc") $m.pvc.subPath }}
  subPath: {{ $m.pvc.subPath }}
  {{- end }}
{{- end }}
{{- end -}}

{{/* The init container that fills the model's volume (model.source: initContainer). */}}
{{- define "pasta.modelInitContainer" -}}
{{- $ctx := .ctx -}}
{{- $m := $ctx.Values.model -}}
{{- if eq $m.source "initContainer" }}
- name: fetch-model
  image: {{ include "pasta.image" (dict "ctx" $ctx "values" $m.initContainer "component" "model.initContainer") }}
  imagePullPolicy: {{ $m.initContainer.image.pullPolicy }}
  {{- with $m.initContainer.command }}
  command: {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with $m.initContainer.args }}
  args: {{- toYaml . | nindent 4 }}
  {{- end }}
  env:
    - name: MODEL_DIR
      value: {{ include "pasta.modelDir" $ctx | quote }}
    - name: MODEL_NAME
      value: {{ $m.name | quote }}
    {{- with $m.initContainer.env }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
  resources: {{- toYaml $m.initContainer.resources | nindent 4 }}
  securityContext: {{- toYaml $ctx.Values.securityContext | nindent 4 }}
  volumeMounts:
    - name: model
      mountPath: {{ include "pasta.modelDir" $ctx }}
    - name: tmp
      mountPath: /tmp
{{- end }}
{{- end -}}

{{/* An HTTP probe on the service's port; timings from values. */}}
{{- define "pasta.probe" -}}
httpGet:
  path: {{ .path }}
  port: {{ .port | default "http" }}
{{- with .probe }}
initialDelaySeconds: {{ .initialDelaySeconds }}
periodSeconds: {{ .periodSeconds }}
timeoutSeconds: {{ .timeoutSeconds }}
failureThreshold: {{ .failureThreshold }}
{{- end }}
{{- end -}}

{{/* Pod scheduling and security settings shared by every component. */}}
{{- define "pasta.podCommon" -}}
{{- $v := .values -}}
serviceAccountName: {{ include "pasta.serviceAccountName" .ctx }}
automountServiceAccountToken: {{ .ctx.Values.serviceAccount.automountServiceAccountToken }}
{{- with (concat (.ctx.Values.global.imagePullSecrets | default list) ($v.image.pullSecrets | default list)) }}
imagePullSecrets: {{- toYaml . | nindent 2 }}
{{- end }}
securityContext: {{- toYaml .ctx.Values.podSecurityContext | nindent 2 }}
terminationGracePeriodSeconds: {{ $v.terminationGracePeriodSeconds }}
{{- with $v.priorityClassName }}
priorityClassName: {{ . }}
{{- end }}
{{- with $v.nodeSelector }}
nodeSelector: {{- toYaml . | nindent 2 }}
{{- end }}
{{- with $v.tolerations }}
tolerations: {{- toYaml . | nindent 2 }}
{{- end }}
{{- with $v.affinity }}
affinity: {{- toYaml . | nindent 2 }}
{{- end }}
{{- with $v.topologySpreadConstraints }}
topologySpreadConstraints: {{- toYaml . | nindent 2 }}
{{- end }}
{{- end -}}

{{/* A PodDisruptionBudget for a component. */}}
{{- define "pasta.pdb" -}}
{{- $pdb := .values.pdb -}}
{{- if $pdb.enabled }}
---
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata:
  name: {{ include "pasta.componentName" . }}
  labels: {{- include "pasta.labels" . | nindent 4 }}
spec:
  {{- if not (kindIs "invalid" $pdb.minAvailable) }}
  minAvailable: {{ $pdb.minAvailable }}
  {{- else }}
  maxUnavailable: {{ $pdb.maxUnavailable }}
  {{- end }}
  selector:
    matchLabels: {{- include "pasta.selectorLabels" . | nindent 6 }}
{{- end }}
{{- end -}}

{{/* A ServiceMonitor for a component's Service (Prometheus Operator). */}}
{{- define "pasta.serviceMonitor" -}}
{{- $sm := .values.serviceMonitor -}}
{{- if $sm.enabled }}
---
apiVersion: monitoring.coreos.com/v1
kind: ServiceMonitor
metadata:
  name: {{ include "pasta.componentName" . }}
  labels:
    {{- include "pasta.labels" . | nindent 4 }}
    {{- with $sm.labels }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
spec:
  selector:
    matchLabels: {{- include "pasta.selectorLabels" . | nindent 6 }}
  namespaceSelector:
    matchNames:
      - {{ .ctx.Release.Namespace }}
  endpoints:
    - port: {{ .metricsPort | default "http" }}
      path: /actuator/prometheus
      interval: {{ $sm.interval }}
      scrapeTimeout: {{ $sm.scrapeTimeout }}
{{- end }}
{{- end -}}

{{/*
A ConfigMap holding the component's application.yml: the values' `config`, with the settings the chart derives
from model, auth and kafka over it (they must agree across components and with the autoscaling).
*/}}
{{- define "pasta.configMap" -}}
{{- $config := deepCopy (.values.config | default dict) -}}
{{- include "pasta.deepMerge" (list $config (deepCopy .generated)) -}}
apiVersion: v1
kind: ConfigMap
metadata:
  name: {{ include "pasta.componentName" . }}
  labels: {{- include "pasta.labels" . | nindent 4 }}
data:
  application.yml: |
    {{- toYaml $config | nindent 4 }}
{{- end -}}
