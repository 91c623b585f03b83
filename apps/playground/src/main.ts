// The playground page: picks the tfjs backend, then wires the two tabs.
import { type AdaptState, setupAdapt } from './adapt.js';
import { chooseBackend, describeBackend } from './backend.js';
import { fetchMnist } from './digits-data.js';
import { type SegmentState, setupSegment } from './segment.js';
import { setupTabs } from './tabs.js';

declare global {
  interface Window {
    /** What the page has done, for the browser tests and the curious (devtools). */
    playground: {
      backend: string | null;
      ready: boolean;
      error: string | null;
      adapt: AdaptState | null;
      segment: SegmentState | null;
    };
  }
}

const $ = (id: string) => document.getElementById(id) as HTMLElement;
const say = (id: string) => (line: string) => {
  $(id).textContent = line;
};

async function start(): Promise<void> {
  window.playground = { backend: null, ready: false, error: null, adapt: null, segment: null };
  const tablist = document.querySelector<HTMLElement>('[role="tablist"]');
  if (tablist) setupTabs(tablist);
  const base = document.baseURI;
  try {
    const info = await chooseBackend(location.search, () => {});
    window.playground.backend = info.name;
    $('backend').textContent = describeBackend(info);
    window.playground.segment = setupSegment(base, say('segment-status'));
    const { train, test } = await fetchMnist(base);
    window.playground.adapt = setupAdapt(train, test, say('adapt-status'));
    window.playground.ready = true;
  } catch (e) {
    const message = e instanceof Error ? e.message : String(e);
    window.playground.error = message;
    $('backend').textContent = `The playground could not start: ${message}`;
  }
}

void start();
