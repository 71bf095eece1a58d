/**
 * The password rule for every local account, the bootstrap admin included. Kept apart from the Argon2 code so
 * the configuration check can use it without loading the hashing libraries.
 */
export function passwordPolicyProblem(password: string): string | undefined {
  if (password.length < 12) return 'password must be at least 12 characters long';
  if (password.length > 1024) return 'password must be at most 1024 characters long';
  if (!/[A-Z]/.test(password)) return 'password must contain an upper-case letter';
  if (!/[a-z]/.test(password)) return 'password must contain a lower-case letter';
  if (!/[0-9]/.test(password)) return 'password must contain a digit';
  return undefined;
}
