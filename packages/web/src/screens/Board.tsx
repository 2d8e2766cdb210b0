import { Placeholder } from './Placeholder.js';

export function BoardScreen() {
  return <Placeholder title="board" />;
}
