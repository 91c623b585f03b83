// Writes a SynthCity contact sheet (source and target side by side, with coloured labels) to look at:
//   node packages/datasets/bench/synthcity-preview.mjs OUT.png [count=6] [width=320] [height=160] [seed=0]
import { writeFileSync } from 'node:fs';
import { renderSynthCityPreview } from '@road/datasets';

const [out, count = '6', width = '320', height = '160', seed = '0'] = process.argv.slice(2);
if (!out) throw new Error('usage: synthcity-preview.mjs OUT.png [count] [width] [height] [seed]');
const sheet = renderSynthCityPreview({ count: +count, width: +width, height: +height, seed: +seed });
writeFileSync(out, sheet.png);
console.log(`wrote ${out} (${sheet.width}x${sheet.height})`);
