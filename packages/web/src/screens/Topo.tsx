import { Placeholder } from './Placeholder.js';

export function TopoScreen() {
  return <Placeholder title="topo" />;
}
