import type { BackendInfo } from '@road/backend';
import { howToGet, shortReason } from '@road/backend';

/** Versions `road doctor` prints first. */
export interface DoctorVersions {
  road: string;
  tfjs: string;
  node: string;
  platform: string;
  native: { version: string | null; build: string };
}

/**
 * The engine part of `road doctor`: versions (road, tfjs, Node, the native build), the engine in use with its
 * native and training kernels, then each skipped engine with its short reason, its full reason and how to get it.
 */
export function doctorReport(info: BackendInfo, v: DoctorVersions): string[] {
  const lines = [
    `road ${v.road} · tfjs ${v.tfjs} · Node ${v.node} (${v.platform})`,
    `native kernels: ${v.native.version == null ? v.native.build : `@road/native ${v.native.version}, ${v.native.build}`}`,
    '',
    `engine in use: ${info.name} (tf.getBackend() = '${info.tfBackend}', tfjs-core ${info.tfjsCore.version}, ${info.tfjsCore.copies} copy loaded)`,
  ];
  if (info.tfBackend === 'wasm') {
    lines.push(
      info.native.loaded
        ? `  native kernels found and in use: ${info.native.kernels.join(', ')} (${info.native.threads} threads, ${info.native.isa})${info.native.binary != null ? `, from ${info.native.binary}` : ''}`
        : `  native kernels off: ${info.native.reason}`,
    );
  }
  if (info.kernels != null && info.kernels.added.length + info.kernels.replaced.length > 0) {
    lines.push(
      `  road's training kernels: added ${info.kernels.added.join(', ') || '-'}; replaced ${info.kernels.replaced.join(', ') || '-'}`,
    );
  }
  if (info.gradients.length > 0) lines.push(`  road's gradients: ${info.gradients.join(', ')}`);
  if (info.skipped.length > 0) {
    lines.push('', 'faster engines skipped:');
    for (const s of info.skipped) {
      lines.push(`  ${s.name}: ${shortReason(s.name, s.reason)}`);
      lines.push(`    why: ${s.reason}`);
      lines.push(`    to get it: ${howToGet(s.name, s.reason)}`);
    }
  }
  lines.push('');
  return lines;
}
