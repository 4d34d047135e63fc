import { TributaryError } from '@tributary/core';
import { errorType } from '../src/error-type';

describe('errorType', () => {
  it('is the stable code of a TributaryError, the class name of other errors, else _OTHER', () => {
    expect(errorType(new TributaryError('ERR_TIMEOUT', 'slow'))).toBe('ERR_TIMEOUT');
    expect(errorType(new RangeError('bad'))).toBe('RangeError');
    class PaymentDeclined extends Error {
      override name = 'PaymentDeclined';
    }
    expect(errorType(new PaymentDeclined('no'))).toBe('PaymentDeclined');
    expect(errorType('a string')).toBe('_OTHER');
    expect(errorType(undefined)).toBe('_OTHER');
  });
});
