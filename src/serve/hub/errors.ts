import { ErrorWithHeaders } from '../http/errors.js';

/** What the Hub's clients read from X-Error-Code to tell a missing repo, revision and file apart. */
export type HubErrorCode = 'RepoNotFound' | 'RevisionNotFound' | 'EntryNotFound';

/**
 * A 404 the way the Hub answers it: the code in X-Error-Code and the message
 * in X-Error-Message besides the JSON body ({"error": …}). huggingface_hub
 * raises RepositoryNotFoundError, RevisionNotFoundError or
 * EntryNotFoundError from the header; @huggingface/hub's fileDownloadInfo
 * answers null on EntryNotFound.
 */
export class HubNotFound extends ErrorWithHeaders {
  constructor(readonly code: HubErrorCode, message: string) {
    // A header keeps to printable ASCII.
    super('not-found', message, { 'X-Error-Code': code, 'X-Error-Message': message.replace(/[^\x20-\x7e]/g, '?') });
  }
}
