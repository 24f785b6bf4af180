/**
 * The model: its directory and configuration ({@code docs/model-contract.md}), the ONNX Runtime session that
 * runs forward passes, and the tokenizer. Plain Java, no Spring.
 */
package io.pastaserve.worker.model;
