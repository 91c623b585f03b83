// Stand-in for `sharp` in the GPU bundle (bench/gpu/build.mjs): the device has no native sharp, and the benchmark
// never reads or writes image files. Any use fails with this message.
export default function sharp(): never {
  throw new Error(
    'sharp is not available in the GPU bundle (bench/gpu/build.mjs): image files cannot be read or written here',
  );
}
