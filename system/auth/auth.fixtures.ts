import { type AuthService, startAuthService } from './auth-service.ts';
import type { AuthServiceOptions } from './auth-service-options.ts';

/** Shared pieces of the auth tests: a clock the test moves, temp data dirs, a started service. */

export { call, type ManualClock, manualClock, type TempDir, tempDir } from '../common/testing.ts';

export const testAdminCredential = 'test-admin-credential-0123456789';

export function startTestAuth(
  dataDir: string,
  options: Partial<AuthServiceOptions> = {},
): Promise<AuthService> {
  return startAuthService({
    dataDir,
    adminCredential: testAdminCredential,
    logLevel: 'silent',
    ...options,
  });
}
