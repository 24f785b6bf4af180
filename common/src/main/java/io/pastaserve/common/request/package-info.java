/**
 * What a request asks for, defined once for every service: how its forks run ({@link
 * io.pastaserve.common.request.Mode}), how its tokens are chosen ({@link io.pastaserve.common.request.Sampling}) and
 * why it ended ({@link io.pastaserve.common.request.FinishReason}). Each type validates itself when it is made and
 * says which setting is wrong ({@link io.pastaserve.common.request.InvalidSettingException}); each has one wire name
 * per value, the same in the HTTP API, in Kafka messages and in Redis.
 */
package io.pastaserve.common.request;
