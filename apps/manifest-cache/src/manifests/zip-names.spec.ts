import { zipEntryName, zipFileName } from './zip-names';

describe('zip names', () => {
  it('names entries by position, type, date and id', () => {
    expect(
      zipEntryName(0, {
        type_description: 'Rating Decision - Codesheet',
        received_at: '2017-03-04T00:00:00Z',
        external_document_id: '{AB-12}',
        mime_type: 'application/pdf',
      }),
    ).toBe('0001-Rating Decision - Codesheet-20170304-AB-12.pdf');
  });

  it('sanitises path tricks and odd characters', () => {
    const n = zipEntryName(11, {
      type_description: '../../etc/passwd: <x>',
      received_at: null,
      external_document_id: 'a/b',
      mime_type: 'image/tiff',
    });
    expect(n).toBe('0012-.._.._etc_passwd_ _x_-undated-a_b.tiff');
    expect(n).not.toContain('/');
  });

  it('keeps the id whole and stays within 100 characters', () => {
    const id = 'X'.repeat(40);
    const n = zipEntryName(1, {
      type_description: 'T'.repeat(300),
      received_at: '2020-01-01T00:00:00Z',
      external_document_id: id,
      mime_type: 'application/pdf',
    });
    expect(n.length).toBeLessThanOrEqual(100);
    expect(n).toContain(`-20200101-${id}.pdf`);
  });

  it('offers the zip as "Last, First - 1234.zip"', () => {
    expect(
      zipFileName({
        veteran_first_name: 'Maria',
        veteran_last_name: "O'Brien",
        veteran_last_four_ssn: '6789',
        file_number: '123456789',
      }),
    ).toBe('O_Brien, Maria - 6789.zip');
    expect(
      zipFileName({
        veteran_first_name: null,
        veteran_last_name: null,
        veteran_last_four_ssn: null,
        file_number: '12345678',
      }),
    ).toBe('Unknown, Unknown - 5678.zip');
  });
});
