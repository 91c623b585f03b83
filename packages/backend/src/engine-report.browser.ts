// The browser build's engine-report.ts: the same reasons and summary line; WebGPU is possible when the page has
// navigator.gpu (no Vulkan driver files to look at).
export { type EngineSummaryInput, engineLine, howToGet, shortReason } from './engine-report.js';

/** Browser build: why WebGPU cannot be used in this page, or null when `navigator.gpu` exists and can be asked. */
export function webgpuUnavailableReason(): string | null {
  const nav = (globalThis as { navigator?: { gpu?: unknown } }).navigator;
  if (nav?.gpu != null) return null;
  const secure = (globalThis as { isSecureContext?: boolean }).isSecureContext;
  return `navigator.gpu is missing: this browser has no WebGPU${secure === false ? ' (the page is not a secure context: serve it over https or from localhost)' : ''}`;
}
