// ---------------------------------------------------------------------------------------------------------------
// Camera: pinhole, looking down the street (+Z), X to the right, Y up, ground at Y = 0.

export interface Camera {
  f: number;
  cx: number;
  /** Horizon row. */
  cy: number;
  /** Camera height (m). */
  hc: number;
}

export function px(cam: Camera, X: number, Z: number): number {
  return cam.cx + (cam.f * X) / Z;
}
export function py(cam: Camera, Y: number, Z: number): number {
  return cam.cy - (cam.f * (Y - cam.hc)) / Z;
}
