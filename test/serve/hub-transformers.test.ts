/**
 * transformers.js (@huggingface/transformers, as installed from npm) pointed
 * at Tessera with env.remoteHost: AutoConfig, AutoTokenizer and a
 * feature-extraction pipeline load a model the test builds (a WordPiece
 * tokenizer and a one-Gather ONNX "encoder" whose output rows are known)
 * from the store, as they would from the Hub.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AutoConfig, AutoTokenizer, env, pipeline } from '@huggingface/transformers';
import { ProtoWriter, encodeNode, encodeTensor } from '../helpers/build-onnx.js';
import { ONNX_ELEM, modelOf, valueInfo } from './identity-model.js';
import { floats, serveModels } from './helpers.js';

const VOCAB = ['[PAD]', '[UNK]', '[CLS]', '[SEP]', 'hello', 'world', 'tess', '##era', 'store', '!'];
const HIDDEN = 4;

/** A BERT-shaped repo: config, WordPiece tokenizer, and onnx/model.onnx mapping input_ids [b, s] to last_hidden_state [b, s, HIDDEN] by table lookup. */
function tinyBert(dir: string): Float32Array {
  const table = floats(VOCAB.length * HIDDEN, 7);
  const graph = new ProtoWriter()
    .message(1, encodeNode({ opType: 'Gather', name: 'embed', inputs: ['table', 'input_ids'], outputs: ['last_hidden_state'] }))
    .string(2, 'tiny-bert')
    .message(5, encodeTensor({ name: 'table', dtype: 'F32', shape: [VOCAB.length, HIDDEN], data: Buffer.from(table.buffer) }))
    .message(11, valueInfo('input_ids', ONNX_ELEM.INT64!, ['batch', 'seq']))
    .message(12, valueInfo('last_hidden_state', ONNX_ELEM.FP32!, ['batch', 'seq', HIDDEN]));
  mkdirSync(join(dir, 'onnx'), { recursive: true });
  writeFileSync(join(dir, 'onnx', 'model.onnx'), modelOf(graph));
  writeFileSync(join(dir, 'config.json'), JSON.stringify({
    model_type: 'bert', architectures: ['BertModel'], hidden_size: HIDDEN, vocab_size: VOCAB.length,
    num_attention_heads: 1, num_hidden_layers: 1, max_position_embeddings: 32,
  }));
  const special = (id: number): Record<string, unknown> => ({ id, content: VOCAB[id], single_word: false, lstrip: false, rstrip: false, normalized: false, special: true });
  writeFileSync(join(dir, 'tokenizer.json'), JSON.stringify({
    version: '1.0', truncation: null, padding: null,
    added_tokens: [0, 1, 2, 3].map(special),
    normalizer: { type: 'BertNormalizer', clean_text: true, handle_chinese_chars: true, strip_accents: null, lowercase: true },
    pre_tokenizer: { type: 'BertPreTokenizer' },
    post_processor: {
      type: 'TemplateProcessing',
      single: [{ SpecialToken: { id: '[CLS]', type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }, { SpecialToken: { id: '[SEP]', type_id: 0 } }],
      pair: [{ SpecialToken: { id: '[CLS]', type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }, { SpecialToken: { id: '[SEP]', type_id: 0 } }, { Sequence: { id: 'B', type_id: 1 } }, { SpecialToken: { id: '[SEP]', type_id: 1 } }],
      special_tokens: { '[CLS]': { id: '[CLS]', ids: [2], tokens: ['[CLS]'] }, '[SEP]': { id: '[SEP]', ids: [3], tokens: ['[SEP]'] } },
    },
    decoder: { type: 'WordPiece', prefix: '##', cleanup: true },
    model: { type: 'WordPiece', unk_token: '[UNK]', continuing_subword_prefix: '##', max_input_chars_per_word: 100, vocab: Object.fromEntries(VOCAB.map((t, i) => [t, i])) },
  }));
  writeFileSync(join(dir, 'tokenizer_config.json'), JSON.stringify({
    tokenizer_class: 'BertTokenizer', do_lower_case: true, model_max_length: 32,
    cls_token: '[CLS]', sep_token: '[SEP]', pad_token: '[PAD]', unk_token: '[UNK]',
  }));
  return table;
}

test('transformers.js loads config, tokenizer and a pipeline from Tessera through env.remoteHost', async () => {
  const t = await serveModels([]);
  const cacheDir = mkdtempSync(join(tmpdir(), 'tessera-tfjs-cache-'));
  const saved = { remoteHost: env.remoteHost, allowLocalModels: env.allowLocalModels, cacheDir: env.cacheDir, useFSCache: env.useFSCache };
  try {
    const src = join(t.dir, 'tiny-bert');
    const table = tinyBert(src);
    await t.store.import(src, { name: 'test-org/tiny-bert' });
    await t.server.context.catalog.refresh();
    env.remoteHost = `${t.url}/`;
    env.allowLocalModels = false;
    env.cacheDir = cacheDir;

    const config = await AutoConfig.from_pretrained('test-org/tiny-bert');
    assert.equal((config as unknown as { model_type: string }).model_type, 'bert');
    const tokenizer = await AutoTokenizer.from_pretrained('test-org/tiny-bert');
    const ids = tokenizer.encode('Hello Tessera store!');
    assert.deepEqual(ids, [2, 4, 6, 7, 8, 9, 3]);

    const extract = await pipeline('feature-extraction', 'test-org/tiny-bert', { dtype: 'fp32' });
    const out = await extract('hello world');
    assert.deepEqual(out.dims, [1, 4, HIDDEN]);
    const expected = [2, 4, 5, 3].flatMap((id) => [...table.subarray(id * HIDDEN, (id + 1) * HIDDEN)]);
    assert.deepEqual([...(out.data as Float32Array)], expected);
    await extract.dispose();
  } finally {
    Object.assign(env, saved);
    rmSync(cacheDir, { recursive: true, force: true });
    await t.close();
  }
});
