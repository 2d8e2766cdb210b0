/** A screen still being built: says so plainly rather than pretending. */
export function Placeholder({ title }: { title: string }) {
  return (
    <section class="panel">
      <h2>{title}</h2>
      <p class="muted">coming next</p>
    </section>
  );
}
