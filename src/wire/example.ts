/**
 * An example inference request kept with a model (in its metadata), so the
 * dashboard's "try it" panel can start from data the model accepts instead
 * of zeros. It must be an OIP JSON request: `{"inputs": [{name, shape,
 * datatype, data}, …]}`; it is checked for that shape, not run. The import
 * command checks it with parseExample, the page reads it with exampleOf.
 */

/** Largest example request kept with a model: it is shown in a form, not a dataset. */
export const MAX_EXAMPLE_BYTES = 1 << 20;

export interface ExampleRequest {
  inputs: { name: string; shape: number[]; datatype: string; data: unknown[] }[];
}

/** Text that is not an example request; the message names `where` and what is wrong. */
export class ExampleError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ExampleError';
  }
}

export function parseExample(text: string, where: string): ExampleRequest {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    throw new ExampleError(`${where}: not JSON (${(e as Error).message})`);
  }
  const inputs = (value as { inputs?: unknown } | null)?.inputs;
  if (!Array.isArray(inputs) || inputs.length === 0) throw new ExampleError(`${where}: expected {"inputs": [...]} with at least one input`);
  for (const [i, t] of inputs.entries()) {
    const x = t as Record<string, unknown> | null;
    if (typeof x?.name !== 'string' || typeof x.datatype !== 'string' || !Array.isArray(x.shape) || !x.shape.every((d) => Number.isInteger(d) && (d as number) >= 0) || !Array.isArray(x.data)) {
      throw new ExampleError(`${where}: inputs[${i}] needs a name, a datatype, a shape of non-negative integers and a data array`);
    }
  }
  return { inputs: inputs as ExampleRequest['inputs'] };
}

/** The example kept in a model's metadata, if any. */
export function exampleOf(metadataJson: string | null): ExampleRequest | undefined {
  if (!metadataJson) return undefined;
  try {
    return (JSON.parse(metadataJson) as { example?: ExampleRequest }).example;
  } catch {
    return undefined;
  }
}
