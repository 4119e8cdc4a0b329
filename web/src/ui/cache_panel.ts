// "Stored in this browser": the models the library's cache holds (folder, bytes, whole or partly
// downloaded), each with a remove control. Test hooks: cache-panel (the <details>), cache-total,
// cached-models (<ul>) with li[data-testid=cached-model][data-folder][data-complete] rows, and a
// remove-cached-model button in each; cache-empty when nothing is stored.
import { deleteCachedModel, listCachedModels, type CachedModel } from '../vibevoice/client';
import { formatBytes } from './dom';

/** A same-origin folder by its path, a Hub repo by "org/name@revision". */
function folderLabel(folder: string): string {
  const url = new URL(folder);
  const hub = /^\/([^/]+\/[^/]+)\/resolve\/([^/]+)\/$/.exec(url.pathname);
  if (url.origin !== location.origin && hub) return `${hub[1]}@${decodeURIComponent(hub[2])}`;
  return url.origin === location.origin ? url.pathname : folder;
}

export class CachePanel {
  constructor(
    private readonly list: HTMLUListElement,
    private readonly total: HTMLElement,
    private readonly onError: (error: unknown) => void,
  ) {}

  async refresh(): Promise<void> {
    try {
      const models = await listCachedModels();
      this.total.textContent = models.length ? `— ${formatBytes(models.reduce((n, m) => n + m.bytes, 0))}` : '';
      this.list.replaceChildren(...(models.length ? models.map((m) => this.row(m)) : [this.empty()]));
    } catch (error) {
      this.onError(error);
    }
  }

  private row(model: CachedModel): HTMLLIElement {
    const item = document.createElement('li');
    item.dataset.testid = 'cached-model';
    item.dataset.folder = model.folder;
    item.dataset.complete = String(model.complete);
    const text = document.createElement('span');
    const files = `${model.files.length} file${model.files.length === 1 ? '' : 's'}`;
    text.textContent = `${folderLabel(model.folder)} — ${formatBytes(model.bytes)}, ${files}${model.complete ? '' : ' (a download is unfinished; it resumes on the next load)'}`;
    const remove = document.createElement('button');
    remove.type = 'button';
    remove.className = 'secondary';
    remove.dataset.testid = 'remove-cached-model';
    remove.textContent = 'Remove';
    remove.title = 'Delete the stored files; the next load downloads them again';
    remove.addEventListener('click', async () => {
      remove.disabled = true;
      try {
        await deleteCachedModel(model.folder);
      } catch (error) {
        this.onError(error);
      }
      await this.refresh();
    });
    item.append(text, remove);
    return item;
  }

  private empty(): HTMLLIElement {
    const item = document.createElement('li');
    item.dataset.testid = 'cache-empty';
    item.className = 'muted';
    item.textContent = 'None yet: a loaded model is kept here, so the next visit does not download it again.';
    return item;
  }
}
