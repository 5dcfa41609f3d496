import { PDFDocument, StandardFonts } from 'pdf-lib';

/** What a generated invoice says, so a test knows the values extraction must find. */
export interface Invoice {
  number: string;
  /** ISO date; drawn in the order `dateStyle` asks for. */
  date: string;
  dateStyle: 'us' | 'eu' | 'iso' | 'long';
  customer: string;
  email: string;
  phone: string;
  address: string;
  website: string;
  quantity: number;
  taxRate: number;
  total: number;
  paid: boolean;
  deliveryTime: string;
}

const pad = (n: number) => String(n).padStart(2, '0');
const MONTHS = [
  'January',
  'February',
  'March',
  'April',
  'May',
  'June',
  'July',
  'August',
  'September',
  'October',
  'November',
  'December',
];

export function drawDate(iso: string, style: Invoice['dateStyle']): string {
  const [y, m, d] = iso.split('-').map(Number);
  switch (style) {
    case 'us':
      return `${pad(m)}/${pad(d)}/${y}`;
    case 'eu':
      return `${pad(d)}.${pad(m)}.${y}`;
    case 'iso':
      return iso;
    case 'long':
      return `${MONTHS[m - 1]} ${d}, ${y}`;
  }
}

/** The n-th invoice of a deterministic series (varied values, formats and layouts). */
export function sampleInvoice(n: number): Invoice {
  const styles: Invoice['dateStyle'][] = ['us', 'eu', 'iso', 'long'];
  const first = ['Jane', 'Omar', 'Li', 'Maria', 'Ade', 'Sven'][n % 6];
  const last = ['Doe', 'Haddad', 'Wei', 'Garcia', 'Okafor', 'Berg'][(n >> 1) % 6];
  const day = 13 + (n % 15); // above 12, so every order is unambiguous
  return {
    number: `INV-2026-${String(1000 + n).padStart(5, '0')}`,
    date: `2026-${pad(1 + (n % 12))}-${pad(day)}`,
    dateStyle: styles[n % 4],
    customer: `${first} ${last}`,
    email: `${first}.${last}${n}@example.com`.toLowerCase(),
    phone: `+1 (555) ${String(100 + (n % 800)).padStart(3, '0')}-${String(1000 + n).slice(-4)}`,
    address: `${10 + n} Main Street, Springfield, IL 62704`,
    website: `https://vendor${n % 7}.example.com/`,
    quantity: 1 + (n % 40),
    taxRate: [8.25, 5, 0, 19.5][n % 4],
    total: Math.round((100 + n * 37.31) * 100) / 100,
    paid: n % 3 === 0,
    deliveryTime: `${1 + (n % 12)}:${pad((n * 7) % 60)} ${n % 2 ? 'PM' : 'AM'}`,
  };
}

/** Draws an invoice as a real PDF (text in the content stream); `pages` adds filler pages. */
export async function invoicePdf(inv: Invoice, pages = 1): Promise<Buffer> {
  const doc = await PDFDocument.create();
  doc.setCreationDate(new Date(Date.UTC(2026, 0, 1)));
  doc.setModificationDate(new Date(Date.UTC(2026, 0, 1)));
  const font = await doc.embedFont(StandardFonts.Helvetica);
  const bold = await doc.embedFont(StandardFonts.HelveticaBold);
  const page = doc.addPage([612, 792]);
  let y = 740;
  const line = (text: string, x = 50, f = font) => {
    page.drawText(text, { x, y, size: 11, font: f });
  };
  line('Northwind Supplies Ltd.', 50, bold);
  line('INVOICE', 450, bold);
  y -= 30;
  const rows: Array<[string, string]> = [
    ['Invoice Number:', inv.number],
    ['Invoice Date:', drawDate(inv.date, inv.dateStyle)],
    ['Bill To:', inv.customer],
    ['Email:', inv.email],
    ['Phone:', inv.phone],
    ['Address:', inv.address],
    ['Website:', inv.website],
    ['Quantity:', String(inv.quantity)],
    ['Tax Rate:', `${inv.taxRate}%`],
    ['Total Due:', `$${inv.total.toLocaleString('en-US', { minimumFractionDigits: 2 })}`],
    ['Paid:', inv.paid ? 'Yes' : 'No'],
    ['Delivery Time:', inv.deliveryTime],
  ];
  for (const [label, value] of rows) {
    line(label, 50, bold);
    line(value, 170);
    y -= 20;
  }
  y -= 10;
  line('Thank you for your business. Payment terms: net 30.');
  for (let p = 1; p < pages; p++) {
    const filler = doc.addPage([612, 792]);
    for (let i = 0; i < 40; i++)
      filler.drawText(
        `Terms and conditions, clause ${p}.${i}: goods remain ours until paid in full.`,
        {
          x: 50,
          y: 740 - i * 18,
          size: 9,
          font,
        },
      );
  }
  return Buffer.from(await doc.save());
}

/** Fields that read every value of an invoice, one of each data type. */
export const INVOICE_FIELDS = [
  { name: 'invoice_number', dataType: 'text' as const },
  { name: 'invoice_date', dataType: 'date' as const },
  { name: 'customer', dataType: 'name' as const, description: 'hints: bill to, customer name' },
  { name: 'email', dataType: 'email' as const },
  { name: 'phone', dataType: 'phone' as const },
  { name: 'address', dataType: 'address' as const },
  { name: 'website', dataType: 'url' as const },
  { name: 'quantity', dataType: 'integer' as const },
  { name: 'tax_rate', dataType: 'percentage' as const },
  { name: 'total', dataType: 'currency' as const, description: 'hints: total due, amount due' },
  { name: 'paid', dataType: 'boolean' as const },
  { name: 'delivery_time', dataType: 'time' as const },
];

/** The values extraction must return for an invoice under INVOICE_FIELDS. */
export function expectedValues(inv: Invoice): Record<string, unknown> {
  const [h, rest] = inv.deliveryTime.split(':');
  const [mm, ampm] = rest.split(' ');
  let hour = Number(h);
  if (ampm === 'PM' && hour < 12) hour += 12;
  if (ampm === 'AM' && hour === 12) hour = 0;
  return {
    invoice_number: inv.number,
    invoice_date: inv.date,
    customer: inv.customer,
    email: inv.email,
    phone: `+${inv.phone.replace(/\D/g, '')}`,
    address: inv.address,
    website: inv.website,
    quantity: inv.quantity,
    tax_rate: inv.taxRate,
    total: { amount: inv.total, currency: 'USD' },
    paid: inv.paid,
    delivery_time: `${pad(hour)}:${mm}:00`,
  };
}
