/** An error the user caused or can fix (unknown model, bad argument); printed as one line. */
export class UserError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UserError';
  }
}
