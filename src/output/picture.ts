// The picture formats (--format html, --format speedscope): made from the pprof model of any
// artifact at write time, so every kind that has a pprof form has a picture too.

import type { Profile } from 'pprof-format';
import { flameData } from './flame-data.js';
import { htmlFromFlame, type HtmlPageInfo } from './html.js';
import { speedscopeFromFlame } from './speedscope.js';

export const PICTURE_FORMATS = ['html', 'speedscope'] as const;
export type PictureFormat = (typeof PICTURE_FORMATS)[number];

export function isPictureFormat(format: string | undefined): format is PictureFormat {
  return (PICTURE_FORMATS as readonly string[]).includes(format ?? '');
}

export function renderPicture(profile: Profile, format: PictureFormat, info: HtmlPageInfo = {}): string {
  const data = flameData(profile);
  if (format === 'html') return htmlFromFlame(data, info);
  return JSON.stringify(speedscopeFromFlame(data, { name: [info.kind, info.target].filter(Boolean).join(' ') || undefined }));
}
