// pasta-serve playground: runs a chat completion with `pasta.stream_spans` and draws one lane per span as
// it decodes. Plain JavaScript, no dependencies, no network beyond this gateway.
'use strict';

const $ = (id) => document.getElementById(id);
const KEY_STORAGE = 'pasta.apiKey';
let model = null;
let controllers = [];

function apiKey() {
  return sessionStorage.getItem(KEY_STORAGE) || '';
}

function headers() {
  const h = { 'Content-Type': 'application/json' };
  if (apiKey()) h.Authorization = 'Bearer ' + apiKey();
  return h;
}

async function loadModel() {
  const response = await fetch('/v1/models', { headers: headers() });
  if (response.status === 401) {
    $('key-box').hidden = false;
    if (apiKey()) {
      $('key-error').textContent = 'that key was refused';
      $('key-error').hidden = false;
    }
    $('model-info').textContent = 'API key needed';
    return false;
  }
  const body = await response.json();
  model = body.data[0];
  $('key-box').hidden = !apiKey();
  $('key-error').hidden = true;
  $('model-info').textContent = `${model.id} · context ${model.max_model_len} tokens · ${model.live_workers} live worker(s)`;
  return true;
}

$('save-key').addEventListener('click', async () => {
  sessionStorage.setItem(KEY_STORAGE, $('api-key').value.trim());
  await loadModel();
});

/** One request drawn live: lanes per span, marks for forks and joins, the answer, the numbers. */
class RunView {
  constructor(title) {
    const node = $('run-template').content.firstElementChild.cloneNode(true);
    node.querySelector('.run-title').textContent = title;
    this.root = node;
    this.lanesNode = node.querySelector('.lanes');
    this.finalNode = node.querySelector('.final');
    this.statsNode = node.querySelector('.stats');
    this.lanes = new Map();      // span id -> {node, text, children:Set, ended:boolean, endedKids:Set}
    this.queue = [];             // DOM work, applied once per animation frame
    this.scheduled = false;
    this.answer = '';
    $('runs').appendChild(node);
  }

  later(fn) {
    this.queue.push(fn);
    if (!this.scheduled) {
      this.scheduled = true;
      requestAnimationFrame(() => {
        this.scheduled = false;
        const work = this.queue;
        this.queue = [];
        for (const f of work) f();
      });
    }
  }

  lane(span, parent) {
    let lane = this.lanes.get(span);
    if (lane) return lane;
    const node = document.createElement('div');
    node.className = 'lane' + (span === '0' ? ' main' : '');
    node.dataset.span = span;
    const name = document.createElement('div');
    name.className = 'name';
    name.innerHTML = span === '0' ? '<b>0</b> main' : `<b>${span}</b>`;
    name.title = span === '0' ? 'main span' : `forked from ${parent}`;
    const text = document.createElement('div');
    text.className = 'text';
    node.append(name, text);
    lane = { node, text, children: new Set(), endedKids: new Set(), joined: new Set(), ended: false, parent };
    this.lanes.set(span, lane);
    this.lanesNode.appendChild(node);
    return lane;
  }

  mark(lane, kind, label, title) {
    const m = document.createElement('span');
    m.className = 'mark ' + kind;
    m.textContent = label;
    m.title = title;
    lane.text.appendChild(m);
  }

  /** A `pasta.span` event: the span's new pieces (text, forks started there), and whether it ended. */
  span(event) {
    this.later(() => {
      const lane = this.lane(event.span, event.parent);
      if (event.worker) this.labelWorker(lane, event.worker);
      for (const piece of event.pieces) {
        if (piece.text) {
          // the parent goes on after every fork it had started so far has ended: they were joined here
          if (lane.children.size > 0 && lane.endedKids.size === lane.children.size && lane.pendingJoin) {
            const fresh = [...lane.endedKids].filter((k) => !lane.joined.has(k));
            fresh.forEach((k) => lane.joined.add(k));
            this.mark(lane, 'join', '⋈ ' + fresh.join(' '), 'joined: these forks had ended before this text');
            lane.pendingJoin = false;
          }
          lane.text.appendChild(document.createTextNode(piece.text));
        }
        for (const child of piece.forks) {
          lane.children.add(child);
          lane.pendingJoin = true;
          this.mark(lane, 'fork', '→ ' + child, 'fork: span ' + child + ' starts here');
          this.lane(child, event.span);
        }
      }
      if (event.trailing) lane.text.appendChild(document.createTextNode(event.trailing));
      if (event.ended) {
        lane.ended = true;
        lane.node.classList.add('done');
        const parent = this.lanes.get(event.parent);
        if (parent) parent.endedKids.add(event.span);
      }
    });
  }

  /**
   * Shows the worker that decodes a lane's span: live, from its span entries (`worker`), and again from the final
   * span list (after a failover, the worker whose tokens were recorded last).
   */
  labelWorker(lane, worker) {
    const name = lane.node.querySelector('.name');
    let label = name.querySelector('.worker');
    if (!label) {
      label = document.createElement('span');
      label.className = 'worker';
      name.append(' ', label);
    }
    label.textContent = worker;
    label.title = `decoded by worker ${worker}`;
    lane.node.dataset.worker = worker;
  }

  /** Names each lane with its promise's topic and the worker that decoded it, once the answer says them. */
  namesFrom(spans) {
    this.later(() => {
      for (const s of spans) {
        const lane = this.lanes.get(s.id);
        if (!lane) continue;
        const name = lane.node.querySelector('.name');
        if (s.topic) {
          name.innerHTML = `<b>${s.id}</b> `;
          name.append(s.topic);
          name.title = `forked from ${s.parent}: ${s.topic} · ${s.tokens} tokens`;
        }
        if (s.worker) {
          this.labelWorker(lane, s.worker);
          name.title += ` · decoded by worker ${s.worker}`;
        }
      }
    });
  }

  text(delta) {
    this.answer += delta;
    this.later(() => { this.finalNode.textContent = this.answer; });
  }

  stats(items) {
    this.later(() => {
      this.statsNode.replaceChildren(...items.map(([k, v]) => {
        const s = document.createElement('span');
        s.append(k + ' ');
        const b = document.createElement('b');
        b.textContent = v;
        s.append(b);
        return s;
      }));
    });
  }

  done(ok) {
    this.later(() => { this.finalNode.dataset.done = ok ? 'true' : 'error'; });
  }
}

/** Runs one streamed request; resolves with its timings and the final `pasta` object. */
async function run(view, mode, controller) {
  const body = {
    model: model.id,
    messages: [{ role: 'user', content: $('prompt').value }],
    max_tokens: Number($('max-tokens').value),
    temperature: Number($('temperature').value),
    seed: Number($('seed').value),
    stream: true,
    stream_options: { include_usage: true },
    pasta: { mode, stream_spans: true },
  };
  const started = performance.now();
  let firstToken = null;
  let pasta = null;
  let usage = null;
  const response = await fetch('/v1/chat/completions', {
    method: 'POST', headers: headers(), body: JSON.stringify(body), signal: controller.signal,
  });
  if (!response.ok) {
    const error = await response.json().catch(() => ({ error: { message: response.statusText } }));
    throw new Error(`${response.status}: ${error.error.message}`);
  }
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  let buffer = '';
  let eventName = null;
  const tick = () => {
    const ms = performance.now() - started;
    view.stats([['time', (ms / 1000).toFixed(2) + ' s'], ['first token', firstToken === null ? '…'
      : firstToken.toFixed(0) + ' ms']]);
  };
  const timer = setInterval(tick, 250);
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buffer += decoder.decode(value, { stream: true });
      let newline;
      while ((newline = buffer.indexOf('\n')) >= 0) {
        const line = buffer.slice(0, newline);
        buffer = buffer.slice(newline + 1);
        if (line.startsWith('event: ')) {
          eventName = line.slice(7).trim();
        } else if (line.startsWith('data: ')) {
          const data = line.slice(6);
          if (data === '[DONE]') continue;
          const json = JSON.parse(data);
          if (eventName === 'pasta.span') {
            view.span(json);
          } else if (json.error) {
            throw new Error(json.error.message);
          } else {
            const choice = json.choices && json.choices[0];
            if (choice && choice.delta && choice.delta.content) {
              if (firstToken === null) firstToken = performance.now() - started;
              view.text(choice.delta.content);
            }
            if (json.pasta) pasta = json.pasta;
            if (json.usage) usage = json.usage;
          }
          eventName = null;
        } else if (line === '') {
          eventName = null;
        }
      }
    }
  } finally {
    clearInterval(timer);
  }
  const seconds = (performance.now() - started) / 1000;
  const tokens = usage ? usage.completion_tokens : (pasta ? pasta.total_tokens : 0);
  const items = [['time', seconds.toFixed(2) + ' s'], ['first token', (firstToken || 0).toFixed(0) + ' ms']];
  if (pasta) {
    items.push(['forks', String(pasta.forks)], ['tokens', String(pasta.total_tokens)],
      ['critical path', String(pasta.critical_path_tokens)], ['ideal speedup', pasta.ideal_speedup.toFixed(2) + '×']);
  }
  items.push(['tokens/s', (tokens / seconds).toFixed(0)]);
  view.stats(items);
  if (pasta && pasta.spans) view.namesFrom(pasta.spans);
  view.done(true);
  return { seconds, pasta, tokens };
}

$('run').addEventListener('click', async () => {
  if (!model && !(await loadModel())) return;
  $('runs').replaceChildren();
  $('race-result').hidden = true;
  $('run-error').hidden = true;
  $('run').disabled = true;
  $('stop').disabled = false;
  const mode = $('mode').value;
  const modes = mode === 'race' ? ['async', 'serial'] : [mode];
  controllers = modes.map(() => new AbortController());
  const views = modes.map((m) => new RunView(m === 'async' ? 'async: independent chunks in parallel'
    : 'serial: one chunk after another'));
  try {
    const results = await Promise.all(modes.map((m, i) => run(views[i], m, controllers[i]).catch((e) => {
      views[i].done(false);
      throw e;
    })));
    if (mode === 'race') {
      const [a, s] = results;
      const box = $('race-result');
      box.innerHTML = '';
      box.append('async ', Object.assign(document.createElement('b'), { id: 'race-async', textContent: a.seconds.toFixed(2) + ' s' }),
        ' · serial ', Object.assign(document.createElement('b'), { id: 'race-serial', textContent: s.seconds.toFixed(2) + ' s' }),
        ' · achieved speedup ', Object.assign(document.createElement('b'), { textContent: (s.seconds / a.seconds).toFixed(2) + '×' }),
        ` (ideal ${a.pasta ? a.pasta.ideal_speedup.toFixed(2) : '?'}×; both ran at once on the same workers)`);
      box.hidden = false;
    }
  } catch (e) {
    if (e.name !== 'AbortError') {
      $('run-error').textContent = e.message;
      $('run-error').hidden = false;
    }
  } finally {
    $('run').disabled = false;
    $('stop').disabled = true;
  }
});

$('stop').addEventListener('click', () => controllers.forEach((c) => c.abort()));

loadModel().catch((e) => { $('model-info').textContent = 'cannot reach the gateway: ' + e.message; });
