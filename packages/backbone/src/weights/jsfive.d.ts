declare module 'jsfive' {
  export class File {
    constructor(buffer: ArrayBuffer, filename?: string);
    readonly keys: string[];
    readonly attrs: Record<string, unknown>;
    get(path: string): unknown;
  }
}
