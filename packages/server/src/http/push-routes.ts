import { FabricError } from '@fabric/protocol';
import type { Push } from '../push/index.js';
import type { Bindings } from './bind.js';

type PushRoute = 'pushKey' | 'subscribePush' | 'unsubscribePush' | 'listPushSubscriptions';

/**
 * Web Push, opt-in per browser: the VAPID key, and this browser's
 * subscription. Cloud mode only: in local mode (`push` null) the table's
 * `cloudOnly` answers 410 before these run.
 */
export function pushBindings(push: Push | null): Bindings<PushRoute> {
  const started = (): Push => {
    if (!push) throw new FabricError('cloud_only', 'web push is a fabric (cloud) feature');
    return push;
  };
  return {
    pushKey: { handle: async () => ({ publicKey: started().vapid.publicKey }) },
    subscribePush: { handle: async ({ caller: user, body }) => started().subscriptions.subscribe(user.sub, body) },
    unsubscribePush: {
      handle: async ({ caller: user, body }) => ({
        removed: await started().subscriptions.unsubscribe(user.sub, body.endpoint),
      }),
    },
    listPushSubscriptions: {
      handle: async ({ caller: user }) => ({ subscriptions: await started().subscriptions.list(user.sub) }),
    },
  };
}
