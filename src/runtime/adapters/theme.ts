// The project theme (`theme`): `theme.export` / `theme.import` (a replace of the single theme).

import type { Theme } from '@descope/node-sdk';
import type { DescopeApi } from '../api.ts';
import { THEME_EXPORT } from '../answers.ts';
import { THEME_ADDRESS, normalizeTheme, type CanonicalTheme } from '../model.ts';

export interface LiveTheme {
  theme: CanonicalTheme;
  /** The theme's server id (sent back on import). */
  id: string;
}

export function themeFromSdk(theme: Theme | undefined): CanonicalTheme {
  return normalizeTheme((theme ?? { id: '', cssTemplate: {} }) as Theme & Record<string, unknown>);
}

export async function readTheme(api: DescopeApi): Promise<LiveTheme> {
  const response = await api.call(THEME_ADDRESS, (m) => m.theme.export(), { shape: THEME_EXPORT });
  return { theme: themeFromSdk(response?.theme), id: typeof response?.theme?.id === 'string' ? response.theme.id : '' };
}

/** Replaces the project theme; `id` is the live theme's id ('' when unknown). */
export async function writeTheme(api: DescopeApi, theme: CanonicalTheme, id = ''): Promise<void> {
  await api.call(THEME_ADDRESS, (m) => m.theme.import({ ...theme, id } as Theme));
}

export const themeAdapter = {
  kind: 'theme',
  address: THEME_ADDRESS,
  read: readTheme,
  write: writeTheme,
  fromSdk: themeFromSdk,
} as const;
