import {
  PDFDict,
  type PDFDocument,
  type PDFFont,
  type PDFImage,
  PDFName,
  type PDFRef,
  PDFStream,
  type PDFWidgetAnnotation,
} from 'pdf-lib';
import { daColor, type WidgetGeometry } from './acroform';
import { fontkitForPdfLib } from './fontkit-adapter';
import type { LoadedFont } from './fonts';
import type { Layout } from './text-layout';

/**
 * Appearance streams drawn by the platform, not by pdf-lib's standard-font provider: each run
 * of text in its own embedded, subset Unicode font, so any script an answer was accepted in is
 * drawn (and extractable: pdf-lib writes each subset's ToUnicode map).
 */
export class EmbeddedFonts {
  private readonly embedded = new Map<string, Promise<PDFFont>>();

  constructor(private readonly doc: PDFDocument) {
    doc.registerFontkit(fontkitForPdfLib as never);
  }

  get(f: LoadedFont): Promise<PDFFont> {
    let p = this.embedded.get(f.path);
    if (!p) {
      p = this.doc.embedFont(f.bytes, { subset: true });
      this.embedded.set(f.path, p);
    }
    return p;
  }
}

const num = (n: number) => (Math.round(n * 1000) / 1000).toString();

/** Background and border from the widget's /MK, as a viewer draws them. */
function frame(widget: PDFWidgetAnnotation, g: WidgetGeometry): string {
  const mk = widget.getAppearanceCharacteristics();
  const out: string[] = [];
  const color = (c: number[] | undefined, op: 'fill' | 'stroke') => {
    if (!c || c.length === 0) return null;
    if (c.length === 1) return `${num(c[0])} ${op === 'fill' ? 'g' : 'G'}`;
    if (c.length === 3) return `${c.map(num).join(' ')} ${op === 'fill' ? 'rg' : 'RG'}`;
    if (c.length === 4) return `${c.map(num).join(' ')} ${op === 'fill' ? 'k' : 'K'}`;
    return null;
  };
  const bg = color(mk?.getBackgroundColor(), 'fill');
  if (bg) out.push(`${bg} 0 0 ${num(g.width)} ${num(g.height)} re f`);
  const bc = color(mk?.getBorderColor(), 'stroke');
  const bw = widget.getBorderStyle()?.getWidth() ?? 1;
  if (bc && bw > 0)
    out.push(
      `${bc} ${num(bw)} w ${num(bw / 2)} ${num(bw / 2)} ${num(g.width - bw)} ${num(g.height - bw)} re S`,
    );
  return out.join('\n');
}

function matrix(g: WidgetGeometry): number[] {
  switch (g.rotation) {
    case 90:
      return [0, 1, -1, 0, g.height, 0];
    case 180:
      return [-1, 0, 0, -1, g.width, g.height];
    case 270:
      return [0, -1, 1, 0, 0, g.width];
    default:
      return [1, 0, 0, 1, 0, 0];
  }
}

function install(
  doc: PDFDocument,
  widget: PDFWidgetAnnotation,
  g: WidgetGeometry,
  content: string,
  resources: Record<string, Record<string, PDFRef>>,
): void {
  const stream = doc.context.stream(content, {
    Type: 'XObject',
    Subtype: 'Form',
    BBox: [0, 0, g.width, g.height],
    Matrix: matrix(g),
    Resources: resources,
  });
  const ref = doc.context.register(stream);
  // Only the normal appearance: a rollover or down state drawn by the form's author would show
  // the old value.
  widget.dict.set(PDFName.of('AP'), doc.context.obj({ N: ref }));
}

/** Draws laid-out text into a widget, in the colour its /DA asks for. */
export async function drawTextAppearance(
  doc: PDFDocument,
  widget: PDFWidgetAnnotation,
  g: WidgetGeometry,
  layout: Layout,
  chain: LoadedFont[],
  fonts: EmbeddedFonts,
): Promise<void> {
  const names = new Map<number, string>();
  const refs: Record<string, PDFRef> = {};
  const body: string[] = [];
  for (const line of layout.lines)
    for (const run of line.runs) {
      if (!run.text) continue;
      const font = await fonts.get(chain[run.font]);
      let name = names.get(run.font);
      if (!name) {
        name = `F${run.font}`;
        names.set(run.font, name);
        refs[name] = font.ref;
      }
      body.push(
        `/${name} ${num(layout.size)} Tf 1 0 0 1 ${num(run.x)} ${num(line.y)} Tm ${font.encodeText(run.text).toString()} Tj`,
      );
    }
  const [r, gr, b] = daColor(g.da);
  const content = [
    frame(widget, g),
    '/Tx BMC q',
    `1 1 ${num(g.width - 2)} ${num(g.height - 2)} re W n`,
    `BT ${num(r)} ${num(gr)} ${num(b)} rg`,
    ...body,
    'ET Q EMC',
  ].join('\n');
  install(doc, widget, g, content, { Font: refs });
}

/** Draws an image (a drawn signature) scaled into the widget, centred, its aspect kept. */
export function drawImageAppearance(
  doc: PDFDocument,
  widget: PDFWidgetAnnotation,
  g: WidgetGeometry,
  image: PDFImage,
): void {
  const pad = 2;
  const scale = Math.min((g.width - 2 * pad) / image.width, (g.height - 2 * pad) / image.height);
  const w = image.width * scale;
  const h = image.height * scale;
  const content = [
    frame(widget, g),
    'q',
    `${num(w)} 0 0 ${num(h)} ${num((g.width - w) / 2)} ${num((g.height - h) / 2)} cm /Im0 Do`,
    'Q',
  ].join('\n');
  install(doc, widget, g, content, { XObject: { Im0: image.ref } });
}

/**
 * Whether a widget has a normal appearance (checkboxes, radios): a dictionary of on/off
 * states, however it is stored (lookup resolves an indirect one), or a single stream.
 */
export function hasStateAppearance(widget: PDFWidgetAnnotation): boolean {
  const ap = widget.dict.lookup(PDFName.of('AP'));
  if (!(ap instanceof PDFDict)) return false;
  const n = ap.lookup(PDFName.of('N'));
  return n instanceof PDFDict ? n.keys().length > 0 : n instanceof PDFStream;
}
