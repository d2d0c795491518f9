import type { CatalogVersion } from '../catalog.js';
import { lfsPointer, repoObjectId } from './commits.js';
import { commitOf } from './repos.js';
import { LOSSY_TAG, lossyOfVersion } from '../lossy.js';
import type { LossyInfo } from '../../wire/lossy.js';

/** A file of a model as the Hub's model info lists it. */
export interface HubSibling {
  rfilename: string;
  size: number;
  /** With ?blobs=true, as the Hub: the pointer's blob id and the LFS object. */
  blobId?: string;
  lfs?: { sha256: string; size: number; pointerSize: number };
}

/** GET /api/models/{repo}[/revision/{revision}] and each item of GET /api/models (the fields @huggingface/hub and huggingface_hub read). */
export interface HubModelInfo {
  _id: string;
  id: string;
  modelId: string;
  author?: string;
  sha: string;
  createdAt: string;
  lastModified: string;
  private: false;
  disabled: false;
  gated: false;
  downloads: number;
  likes: number;
  library_name?: string;
  tags: string[];
  siblings: HubSibling[];
  spaces: string[];
  /** Tessera's own: the version this revision is, and what it records when it is a lossy version (null: lossless). */
  tessera: { version: number; versions: number[]; format: string; logicalBytes: number; lossy: LossyInfo | null };
}

/** The Hub's library names for what a model's files are. */
const LIBRARY: Record<string, string> = { onnx: 'onnx', safetensors: 'safetensors', tfjs: 'tf.js', tflite: 'tflite', gguf: 'gguf', pytorch: 'pytorch', keras: 'keras', hdf5: 'keras' };

/** A version as the Hub describes a repo at a revision; `first` dates the repo (its oldest version); `siblings: false` leaves the files out. */
export function modelInfo(v: CatalogVersion, first: CatalogVersion, versions: number[], opts: { blobs?: boolean; siblings?: boolean } = {}): HubModelInfo {
  const m = v.model;
  const slash = m.name.indexOf('/');
  const library = LIBRARY[m.format];
  const lossy = lossyOfVersion(v) ?? null;
  return {
    _id: repoObjectId(m.name), id: m.name, modelId: m.name, ...(slash > 0 ? { author: m.name.slice(0, slash) } : {}),
    sha: commitOf(v), createdAt: first.model.createdAt, lastModified: m.createdAt,
    private: false, disabled: false, gated: false, downloads: 0, likes: 0,
    ...(library ? { library_name: library } : {}),
    tags: [...new Set([m.format, ...(library ? [library] : []), 'tessera', ...(lossy ? [LOSSY_TAG] : [])])],
    // A listing asks for them only with full=true: an empty list otherwise, as the Hub.
    siblings: opts.siblings === false ? [] : v.files.map((f) => {
      if (!opts.blobs) return { rfilename: f.path, size: f.size };
      const pointer = lfsPointer(f.sha256.toString('hex'), f.size);
      return { rfilename: f.path, size: f.size, blobId: pointer.oid, lfs: { sha256: f.sha256.toString('hex'), size: f.size, pointerSize: pointer.size } };
    }),
    spaces: [],
    tessera: { version: m.version, versions, format: m.format, logicalBytes: m.logicalBytes, lossy },
  };
}
