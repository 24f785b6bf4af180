/** What the gateway knows of the served model: its name, context length, chat template and tokenizer. */
package io.pastaserve.gateway.model;
