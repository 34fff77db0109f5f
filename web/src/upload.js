// Uploads a file of the browser's machine into the member's own folder of the server's data root
// (PUT /api/v1/uploads/{name}, docs/api.md "Uploads"), as `parley table add --upload` does: the
// body is the file's bytes, its SHA-256 in X-Parley-Sha256 (the server keeps the file only when
// what arrived matches it), the session's CSRF token in X-Parley-CSRF. XMLHttpRequest rather than
// fetch because only it reports the upload's progress.
import { ApiError, csrfHeader } from './api.js';

// The file's SHA-256 as hex. WebCrypto hashes a whole buffer: the file is read into memory once
// (the server's --max-upload-bytes, 1 GiB by default, bounds what it would accept anyway).
export async function sha256Hex(blob) {
  const digest = await crypto.subtle.digest('SHA-256', await blob.arrayBuffer());
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, '0')).join('');
}

// A plain file name the server accepts (letters, digits, '.', '_', '-'; not starting with '.' or
// '-'; at most 128): other characters of the browser's file name become '_'.
export function uploadName(fileName) {
  const cleaned = fileName.replace(/[^A-Za-z0-9._-]/g, '_').replace(/^[.-]+/, '').slice(0, 128);
  return cleaned || 'upload';
}

// Sends `file` as `name`; onProgress(sentBytes, totalBytes) as it goes. Resolves with the
// server's answer {name, path, bytes, sha256}; rejects with an ApiError carrying the server's
// message (a name taken, a file too large, a checksum that does not match).
export function uploadFile(name, file, sha256, onProgress) {
  return new Promise((resolve, reject) => {
    const request = new XMLHttpRequest();
    request.open('PUT', `/api/v1/uploads/${encodeURIComponent(name)}`);
    request.setRequestHeader('Content-Type', 'application/octet-stream');
    request.setRequestHeader('Accept', 'application/json');
    request.setRequestHeader('X-Parley-Sha256', sha256);
    const [header, value] = csrfHeader();
    if (header) request.setRequestHeader(header, value);
    request.upload.onprogress = (event) => onProgress(event.loaded, event.lengthComputable ? event.total : file.size);
    request.onerror = () => reject(new ApiError(0, 'UNAVAILABLE', 'the upload did not reach the server'));
    request.onload = () => {
      let json = null;
      try { json = JSON.parse(request.responseText); } catch { /* not JSON */ }
      if (request.status === 200 && json) {
        onProgress(file.size, file.size);
        resolve(json);
        return;
      }
      const error = json && json.error ? json.error : {};
      reject(new ApiError(request.status, error.code || 'UNKNOWN',
                          error.message || `the server answered ${request.status}`));
    };
    request.send(file);
  });
}
