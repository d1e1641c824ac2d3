/**
 * Actions behind a confirmation: a modal <dialog> says what will happen; on
 * Confirm the action runs, and the dialog shows the API's error if it fails
 * (it closes on success). Called by the action buttons of the pages; one
 * dialog at a time (a second call replaces the first).
 */
import { h } from './dom.js';

export interface ConfirmOptions {
  readonly title: string;
  /** What will happen, in plain words. */
  readonly message: string;
  /** The confirm button's text ("Kill job"). */
  readonly action: string;
  /** Runs on Confirm; its rejection's message is shown in the dialog. */
  run(): Promise<void>;
  /** After a successful run. */
  done?(): void;
}

let open: HTMLDialogElement | undefined;

export function confirmAction(o: ConfirmOptions): void {
  open?.close();
  open?.remove();
  const error = h('p', { class: 'dialog-error', role: 'alert', hidden: true });
  const confirmButton = h('button', { type: 'button', class: 'danger', 'data-confirm': '' }, o.action);
  const cancelButton = h('button', { type: 'button', 'data-cancel': '' }, 'Cancel');
  const dialog = h('dialog', { class: 'confirm' },
    h('h3', {}, o.title), h('p', {}, o.message), error, h('div', { class: 'dialog-buttons' }, cancelButton, confirmButton));
  const close = (): void => {
    dialog.close();
    dialog.remove();
    if (open === dialog) open = undefined;
  };
  cancelButton.addEventListener('click', close);
  dialog.addEventListener('cancel', close);
  confirmButton.addEventListener('click', () => {
    confirmButton.disabled = true;
    error.hidden = true;
    o.run().then(() => {
      close();
      o.done?.();
    }, (err: unknown) => {
      error.textContent = err instanceof Error ? err.message : String(err);
      error.hidden = false;
      confirmButton.disabled = false;
    });
  });
  document.body.appendChild(dialog);
  open = dialog;
  dialog.showModal();
}
