import { useEffect, useRef, useState } from 'preact/hooks';
import type { BoardCard, HarnessName } from '@fabric/protocol';
import { api } from '../../api.js';
import { ErrorLine } from '../../components/ErrorLine.js';
import { harnessChoices } from '../../model/board.js';
import { board, devices } from '../../store.js';

/**
 * The add/edit card drawer: a bottom sheet on a phone, a side panel on a
 * desk. Escape or the backdrop closes it; focus starts on the title.
 */
export function CardDrawer({ card, onClose }: { card: BoardCard | null; onClose: () => void }) {
  const [title, setTitle] = useState(card?.title ?? '');
  const [prompt, setPrompt] = useState(card?.prompt ?? '');
  const [harness, setHarness] = useState<HarnessName>(card?.harness ?? 'shell');
  const [device, setDevice] = useState(card?.deviceId ?? '');
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const first = useRef<HTMLInputElement>(null);
  useEffect(() => {
    first.current?.focus();
    const onKey = (e: KeyboardEvent) => {
      if (e.key === 'Escape') onClose();
    };
    addEventListener('keydown', onKey);
    return () => removeEventListener('keydown', onKey);
  }, []);

  const choices = harnessChoices(devices.value, device || null);
  const online = devices.value.filter((d) => !d.revoked && (d.online || d.id === device));
  const submit = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const body = { title, prompt, harness, deviceId: device || null };
      const saved = card ? await api.updateCard({ params: { id: card.id }, body }) : await api.createCard({ body });
      board.value = [...board.value.filter((c) => c.id !== saved.id), saved];
      onClose();
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };

  return (
    <div
      class="drawer-backdrop"
      onClick={(e) => {
        if (e.target === e.currentTarget) onClose();
      }}
    >
      <section class="drawer panel" role="dialog" aria-modal="true" aria-labelledby="card-drawer-title">
        <h2 id="card-drawer-title">{card ? 'edit card' : 'new card'}</h2>
        <form
          onSubmit={(e) => {
            void submit(e);
          }}
        >
          <label for="card-title">title</label>
          <input
            id="card-title"
            ref={first}
            value={title}
            onInput={(e) => setTitle(e.currentTarget.value)}
            required
            maxLength={200}
            placeholder="nightly backup check"
          />
          <label for="card-prompt">
            {harness === 'shell' ? 'command (one allowlisted program, no shell)' : 'task prompt'}
          </label>
          <textarea
            id="card-prompt"
            value={prompt}
            onInput={(e) => setPrompt(e.currentTarget.value)}
            required
            placeholder={harness === 'shell' ? 'echo hello' : 'what should the agent do?'}
          />
          <div class="row">
            <div class="grow">
              <label for="card-harness">harness</label>
              <select
                id="card-harness"
                value={harness}
                onChange={(e) => setHarness(e.currentTarget.value as HarnessName)}
              >
                {choices.map((h) => (
                  <option value={h.name}>
                    {h.name}
                    {h.installed ? '' : ' (not installed)'}
                  </option>
                ))}
              </select>
            </div>
            <div class="grow">
              <label for="card-device">device</label>
              <select id="card-device" value={device} onChange={(e) => setDevice(e.currentTarget.value)}>
                <option value="">best available</option>
                {online.map((d) => (
                  <option value={d.id}>
                    {d.name}
                    {d.online ? '' : ' (offline)'}
                  </option>
                ))}
              </select>
            </div>
          </div>
          <ErrorLine error={error} />
          <div class="row drawer-actions">
            <button type="button" onClick={onClose}>
              cancel
            </button>
            <button type="submit" class="primary grow" disabled={busy}>
              {card ? 'save' : 'add card'}
            </button>
          </div>
        </form>
      </section>
    </div>
  );
}
