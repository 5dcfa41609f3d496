import {
  PDFArray,
  PDFDict,
  type PDFDocument,
  PDFName,
  PDFNumber,
  PDFRef,
  PDFString,
  PDFHexString,
  type PDFWidgetAnnotation,
} from 'pdf-lib';

/**
 * What real forms do that the AcroForm field list alone does not show. Forms re-saved by some
 * producers (macOS Quartz among them) keep widgets on the pages that the /Fields tree never
 * reaches; a viewer still shows and fills them. They are adopted into /Fields (their topmost
 * ancestor), so they can be assigned, filled and flattened like any other.
 */
export function adoptOrphanWidgets(doc: PDFDocument): number {
  const form = doc.getForm();
  const acro = form.acroForm.dict;
  let fields = acro.lookup(PDFName.of('Fields'));
  if (!(fields instanceof PDFArray)) {
    fields = doc.context.obj([]);
    acro.set(PDFName.of('Fields'), fields);
  }
  const list = fields as PDFArray;
  const reached = new Set<PDFDict>();
  const visit = (o: unknown, depth: number) => {
    const d = o instanceof PDFRef ? doc.context.lookup(o) : o;
    if (!(d instanceof PDFDict) || reached.has(d) || depth > 32) return;
    reached.add(d);
    const kids = d.lookup(PDFName.of('Kids'));
    if (kids instanceof PDFArray)
      for (let i = 0; i < kids.size(); i++) visit(kids.get(i), depth + 1);
  };
  for (let i = 0; i < list.size(); i++) visit(list.get(i), 0);
  let adopted = 0;
  for (const page of doc.getPages()) {
    const annots = page.node.Annots();
    if (!annots) continue;
    for (let i = 0; i < annots.size(); i++) {
      const ref = annots.get(i);
      const a = doc.context.lookup(ref);
      if (!(a instanceof PDFDict) || a.get(PDFName.of('Subtype')) !== PDFName.of('Widget'))
        continue;
      if (reached.has(a)) continue;
      // The topmost ancestor is the field; a widget without /T and /Parent names nothing.
      let top: PDFDict = a;
      let topRef: unknown = ref;
      for (let depth = 0; depth < 32; depth++) {
        const parentRef = top.get(PDFName.of('Parent'));
        const parent = parentRef ? doc.context.lookup(parentRef) : undefined;
        if (!(parent instanceof PDFDict)) break;
        top = parent;
        topRef = parentRef;
      }
      if (!top.get(PDFName.of('T')) || reached.has(top)) continue;
      list.push(topRef instanceof PDFRef ? topRef : doc.context.register(top));
      visit(top, 0);
      adopted++;
    }
  }
  return adopted;
}

export interface WidgetGeometry {
  width: number;
  height: number;
  /** The widget's default appearance string (its own, its field's, or the form's). */
  da: string | undefined;
  /** The size that /DA asks for (0: auto). */
  fontSize: number;
  quadding: number;
  rotation: number;
}

/** A widget's box as the text is laid out in it (a 90° or 270° widget swaps its sides). */
export function widgetGeometry(
  widget: PDFWidgetAnnotation,
  field: PDFDict,
  acroDA: string | undefined,
): WidgetGeometry {
  const r = widget.getRectangle();
  const rotation =
    (((widget.getAppearanceCharacteristics()?.getRotation() ?? 0) % 360) + 360) % 360;
  const swap = rotation === 90 || rotation === 270;
  const da = stringOf(widget.dict.lookup(PDFName.of('DA'))) ?? inherited(field, 'DA') ?? acroDA;
  const size = da ? /([\d.]+)\s+Tf/.exec(da) : null;
  const q = widget.dict.lookup(PDFName.of('Q')) ?? inheritedObj(field, 'Q');
  return {
    width: swap ? r.height : r.width,
    height: swap ? r.width : r.height,
    da,
    fontSize: size ? Number(size[1]) || 0 : 0,
    quadding: q instanceof PDFNumber ? q.asNumber() : 0,
    rotation,
  };
}

/** The fill colour a /DA string sets (g, rg or k), as RGB 0..1; black when it sets none. */
export function daColor(da: string | undefined): [number, number, number] {
  if (!da) return [0, 0, 0];
  const rgb = /([\d.]+)\s+([\d.]+)\s+([\d.]+)\s+rg/.exec(da);
  if (rgb) return [Number(rgb[1]), Number(rgb[2]), Number(rgb[3])];
  const cmyk = /([\d.]+)\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)\s+k/.exec(da);
  if (cmyk) {
    const [c, m, y, k] = cmyk.slice(1).map(Number);
    return [(1 - c) * (1 - k), (1 - m) * (1 - k), (1 - y) * (1 - k)];
  }
  const g = /([\d.]+)\s+g(?![a-z])/.exec(da);
  if (g) return [Number(g[1]), Number(g[1]), Number(g[1])];
  return [0, 0, 0];
}

export function stringOf(o: unknown): string | undefined {
  if (o instanceof PDFString || o instanceof PDFHexString) return o.decodeText();
  return undefined;
}

function inheritedObj(d: PDFDict, key: string): unknown {
  let cur: PDFDict | undefined = d;
  for (let depth = 0; cur && depth < 32; depth++) {
    const v = cur.lookup(PDFName.of(key));
    if (v !== undefined) return v;
    const p: unknown = cur.lookup(PDFName.of('Parent'));
    cur = p instanceof PDFDict ? p : undefined;
  }
  return undefined;
}

export function inherited(d: PDFDict, key: string): string | undefined {
  return stringOf(inheritedObj(d, key));
}
