import { checkValue, FieldValueError, type FormField } from './pdf-forms';

const limits = { singleLine: 1000, multiline: 2000 };
const refused = (field: FormField, value: unknown) => {
  try {
    checkValue(field, value, limits);
  } catch (err) {
    if (err instanceof FieldValueError) return `${err.kind}: ${err.message}`;
    throw err;
  }
  return null;
};

describe('checkValue', () => {
  it('counts composed characters and one break per CRLF', () => {
    const state: FormField = { name: 'state', type: 'text', maxLength: 4 };
    // "José" decomposed is five code points, composed four.
    expect(refused(state, 'Jose\u0301')).toBeNull();
    expect(refused(state, 'a\r\nb\r\n')).toBeNull();
    expect(refused(state, 'Texas')).toBe('bound: state: must be at most 4 characters; got 5');
  });

  it('takes list boxes as one option, or several when multi-select', () => {
    const one: FormField = { name: 'planet', type: 'listbox', options: ['Earth', 'Mars'] };
    const many: FormField = { ...one, multiSelect: true };
    expect(refused(one, 'Mars')).toBeNull();
    expect(refused(one, ['Mars'])).toBeNull();
    expect(refused(one, ['Earth', 'Mars'])).toBe('type: planet: takes one option');
    expect(refused(many, ['Earth', 'Mars'])).toBeNull();
    expect(refused(many, ['Pluto'])).toBe('type: planet: must be a list of Earth, Mars');
    expect(refused(many, [])).toBe('type: planet: must be a list of Earth, Mars');
  });

  it('takes a signature typed or drawn as a PNG, nothing else', () => {
    const sig: FormField = { name: 'sig', type: 'signature' };
    const png = Buffer.concat([Buffer.from('89504e470d0a1a0a', 'hex'), Buffer.alloc(8)]);
    expect(refused(sig, 'Eleanor Rigby')).toBeNull();
    expect(refused(sig, { image: `data:image/png;base64,${png.toString('base64')}` })).toBeNull();
    expect(refused(sig, 'x'.repeat(101))).toBe(
      'bound: sig: a typed signature is at most 100 characters',
    );
    expect(refused(sig, { image: Buffer.from('GIF89a....').toString('base64') })).toBe(
      'type: sig: a drawn signature must be a PNG image',
    );
    expect(refused(sig, { image: 'not base64!' })).toBe(
      'type: sig: must be a typed name or { "image": a base64 PNG }',
    );
    expect(refused(sig, 42)).toBe('type: sig: must be a typed name or { "image": a base64 PNG }');
  });
});
