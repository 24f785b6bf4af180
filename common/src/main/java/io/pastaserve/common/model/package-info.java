/**
 * The model directory as {@code docs/model-contract.md} lays it out, read the same way by every service that needs it:
 * {@link io.pastaserve.common.model.ModelDirectory} finds its files and reads {@code config.json} into a {@link
 * io.pastaserve.common.model.ModelConfigFile}. The tokenizer and the graph are loaded by whoever uses them (the
 * gateway counts prompt tokens, the worker runs the model).
 */
package io.pastaserve.common.model;
