import { Placeholder } from './Placeholder.js';

export function VaultScreen() {
  return <Placeholder title="vault" />;
}
