// The official OpenAI client for Node (the npm package "openai"), against serve's /v1/embeddings.
//   node openai-embeddings.cjs NODE_MODULES BASE_URL API_KEY MODEL TEXTS.json
// Prints one JSON object: the vectors fetched with the client's defaults (base64 on the wire, decoded by the
// client), the vectors fetched with encoding_format "float", the usage, and what the client threw for a wrong model.
const path = require('path');
const fs = require('fs');
const [nodeModules, baseURL, apiKey, model, textsFile] = process.argv.slice(2);
const OpenAI = require(path.join(nodeModules, 'openai')).default;
const texts = JSON.parse(fs.readFileSync(textsFile, 'utf8'));

async function main() {
  const client = new OpenAI({ baseURL, apiKey, maxRetries: 0, timeout: 120000 });
  const byDefault = await client.embeddings.create({ model, input: texts });
  const asFloat = await client.embeddings.create({ model, input: texts, encoding_format: 'float' });
  const single = await client.embeddings.create({ model, input: texts[0] });
  let wrongModel = null;
  try {
    await client.embeddings.create({ model: 'text-embedding-3-small', input: 'x' });
  } catch (e) {
    wrongModel = { status: e.status, message: e.error && e.error.message, code: e.code };
  }
  let wrongKey = null;
  try {
    await new OpenAI({ baseURL, apiKey: 'not-the-key', maxRetries: 0 }).embeddings.create({ model, input: 'x' });
  } catch (e) {
    wrongKey = { status: e.status, name: e.constructor.name };
  }
  const vectors = (r) => r.data.map((d) => Array.from(d.embedding));
  console.log(JSON.stringify({
    defaults: vectors(byDefault),
    floats: vectors(asFloat),
    single: vectors(single),
    indexes: byDefault.data.map((d) => d.index),
    model: byDefault.model,
    usage: byDefault.usage,
    wrongModel,
    wrongKey,
  }));
}

main().catch((e) => {
  console.error(e && e.stack ? e.stack : String(e));
  process.exit(1);
});
