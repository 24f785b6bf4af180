/** Real servers and services started as processes for tests (never mocks). Used only in test scope. */
package io.pastaserve.testing;
