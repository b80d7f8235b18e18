// A reusable module: a support team inside one customer tenant. Used twice in descope.config.ts,
// once per tenant, with different parameters. It could as well live in an npm package.
import { defineModule, permission, role } from 'descope-run';

export interface SupportTeamParams {
  /** The tenant the team works in. */
  tenant: string;
  /** May the team's leads issue refunds? */
  refunds?: boolean;
}

export default defineModule<SupportTeamParams>({
  name: 'support-team',
  build: ({ tenant, refunds = false }) => ({
    permissions: refunds
      ? [permission({ name: `${tenant}.refunds`, description: `Issue refunds to ${tenant} customers` })]
      : [],
    roles: [
      role({
        name: 'Support Agent',
        tenant,
        description: 'Reads customer accounts and answers tickets',
        permissions: ['users.read', 'tickets.answer'],
      }),
      role({
        name: 'Support Lead',
        tenant,
        description: 'Manages the support team',
        permissions: ['users.read', 'tickets.answer', 'tickets.assign', ...(refunds ? [`${tenant}.refunds`] : [])],
      }),
    ],
  }),
});
