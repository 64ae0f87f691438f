import { useState } from 'preact/hooks';
import type { Upload } from './api';
import { formatCount, formatTime } from './format';
import { onLinkClick } from './router';

const SHOWN = 5;

/**
 * The latest uploads, each with its next steps: a file a model refused has no prediction, so this
 * is where it is found again.
 */
export function RecentFiles(props: { uploads: Upload[] }) {
  const [all, setAll] = useState(false);
  if (props.uploads.length === 0) return null;
  const shown = all ? props.uploads : props.uploads.slice(0, SHOWN);
  return (
    <section class="panel" aria-labelledby="files-title">
      <h2 id="files-title">Your files</h2>
      <div class="table-scroll">
        <table class="files stack-on-phone">
          <caption class="visually-hidden">Your uploads, newest first</caption>
          <thead>
            <tr>
              <th scope="col">File</th>
              <th scope="col" class="number">
                Customers
              </th>
              <th scope="col">Uploaded</th>
              <th scope="col">
                <span class="visually-hidden">Next steps</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {shown.map((upload) => (
              <tr key={upload.id} data-upload={upload.id}>
                <th scope="row" data-label="File">
                  {upload.filename}
                </th>
                <td data-label="Customers" class="number">
                  {formatCount(upload.rowCount)}
                </td>
                <td data-label="Uploaded">{formatTime(upload.createdAt)}</td>
                <td data-label="Next steps">
                  <span class="file-actions">
                    <a href={`/uploads/${upload.id}`} onClick={onLinkClick}>
                      Check columns<span class="visually-hidden"> of {upload.filename}</span>
                    </a>
                    <a href={`/uploads/${upload.id}/train`} onClick={onLinkClick}>
                      Train a model<span class="visually-hidden"> on {upload.filename}</span>
                    </a>
                  </span>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      {!all && props.uploads.length > SHOWN && (
        <button type="button" class="secondary" onClick={() => setAll(true)}>
          Show all {props.uploads.length} files
        </button>
      )}
    </section>
  );
}
