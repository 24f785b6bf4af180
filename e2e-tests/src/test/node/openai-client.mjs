// The official openai client against the gateway: one chat completion and one text completion, each
// non-streaming and streaming, for one prompt and mode. Prints one JSON object on stdout.
// Environment: BASE_URL (…/v1), API_KEY, PROMPT, MODE (async|serial), SEED, MAX_TOKENS.
import OpenAI from 'openai';

const client = new OpenAI({ baseURL: process.env.BASE_URL, apiKey: process.env.API_KEY, maxRetries: 0 });
const common = {
  model: 'pasta-tiny',
  temperature: 0.8,
  top_p: 0.95,
  seed: Number(process.env.SEED),
  max_tokens: Number(process.env.MAX_TOKENS),
  pasta: { mode: process.env.MODE },
};
const prompt = process.env.PROMPT;

const chat = await client.chat.completions.create({ ...common, messages: [{ role: 'user', content: prompt }] });

let chatStreamed = '';
let chatStreamFinish = null;
let chatStreamUsage = null;
const chatStream = await client.chat.completions.create({
  ...common, messages: [{ role: 'user', content: prompt }], stream: true, stream_options: { include_usage: true },
});
for await (const chunk of chatStream) {
  if (chunk.choices.length > 0) {
    chatStreamed += chunk.choices[0].delta?.content ?? '';
    chatStreamFinish = chunk.choices[0].finish_reason ?? chatStreamFinish;
  }
  if (chunk.usage) {
    chatStreamUsage = chunk.usage;
  }
}

const text = await client.completions.create({ ...common, prompt });

let textStreamed = '';
const textStream = await client.completions.create({ ...common, prompt, stream: true });
for await (const chunk of textStream) {
  textStreamed += chunk.choices[0]?.text ?? '';
}

const models = await client.models.list();

process.stdout.write(JSON.stringify({
  chat: chat.choices[0].message.content,
  chatFinish: chat.choices[0].finish_reason,
  chatUsage: chat.usage,
  chatStreamed,
  chatStreamFinish,
  chatStreamUsage,
  text: text.choices[0].text,
  textStreamed,
  models: models.data.map((m) => m.id),
}));
