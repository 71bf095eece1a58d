import type { Job } from '../src/jobs/types';
import { renewExpiring } from '../src/services/pki/certificates';

/**
 * Certificate renewal: daily, Controller-signed leaf certificates that expire within
 * CERT_RENEW_BEFORE_DAYS are re-issued (same subject, hosts and CA; new key). Their secrets change in
 * place, so the fogs that mount them get `volumeMounts`. CAs are never renewed automatically.
 */
export const certificateRenewalJob: Job = {
  name: 'certificate-renewal',
  schedule: '41 2 * * *',
  serverSchedule: '13 41 2 * * *',
  run: (ctx) => renewExpiring(ctx, ctx.config.certRenewBeforeDays),
};
