// The parts of tfjs-backend-webgpu 4.22's program interface road's WebGPU kernels use, typed structurally so that
// @road/backend does not import the (optional) backend package for types.
import type { DataId, DataType, TensorInfo } from '@tensorflow/tfjs-core';

/**
 * A compute program as tfjs-backend-webgpu's `runWebGPUProgram` takes it: the backend prepends the storage buffers
 * (`result`, then one `array<f32>` per `variableNames` entry), a `Uniforms` struct (shapes, strides, `size` when
 * `size` is set, then the program's own `uniforms`) and the builtins `localId`, `workgroupId`, `globalId`;
 * `getUserCode()` defines `fn main()` (or `fn main(index : i32)` for a flat `dispatchLayout`).
 */
export interface WebGPUProgramLike {
  variableNames: string[];
  uniforms?: string;
  outputShape: number[];
  dispatchLayout: { x: number[]; y?: number[]; z?: number[] };
  dispatch: [number, number, number];
  workgroupSize: [number, number, number];
  size?: boolean;
  shaderKey: string;
  getUserCode(): string;
}

/** A program-defined uniform value (`int32` → i32 / vecN<i32>, `float32` → f32). */
export interface ProgramUniform {
  type: string;
  data: number[];
}

/** The parts of tfjs-backend-webgpu's `WebGPUBackend` road's kernels call. */
export interface WebGPUBackendLike {
  runWebGPUProgram(
    program: WebGPUProgramLike,
    inputs: TensorInfo[],
    outputDtype: DataType,
    uniforms?: ProgramUniform[],
  ): TensorInfo;
  disposeData(dataId: DataId): boolean;
}
