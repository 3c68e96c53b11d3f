export { acceptedIds, compare, recordsIn, reportText } from './app';
export type { AuditReport, AuditScope } from './app';
export { auditConfigSchema } from './config';
