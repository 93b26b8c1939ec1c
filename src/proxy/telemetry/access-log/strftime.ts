// %START_TIME(format)%: the strftime specifiers Envoy's access logs use, in UTC as Envoy prints
// them, with Envoy's own extensions for sub-second digits (`%E3S` seconds with 3 decimals, `%3f`
// the first 3 fractional digits, `%f` all 9) and `%s` epoch seconds.
const DAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const LONG_DAYS = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'];
const LONG_MONTHS = [
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

const pad = (n: number, width = 2): string => String(n).padStart(width, '0');

/** Nine fractional digits of the second (a Date has milliseconds: the rest are zeros). */
const fraction = (d: Date): string => `${pad(d.getUTCMilliseconds(), 3)}000000`;

export function strftime(format: string, d: Date): string {
  let out = '';
  for (let i = 0; i < format.length; i++) {
    const c = format[i];
    if (c !== '%' || i + 1 >= format.length) {
      out += c;
      continue;
    }
    let spec = format[++i] ?? '';
    // %E<n>S and %<n>f: n sub-second digits.
    let digits: number | undefined;
    if (spec === 'E' && /^\d+S$/.test(format.slice(i + 1, i + 3))) {
      digits = Number(format[i + 1]);
      i += 2;
      spec = 'ES';
    } else if (/\d/.test(spec) && format[i + 1] === 'f') {
      digits = Number(spec);
      i += 1;
      spec = 'f';
    }
    switch (spec) {
      case 'Y':
        out += String(d.getUTCFullYear());
        break;
      case 'y':
        out += pad(d.getUTCFullYear() % 100);
        break;
      case 'm':
        out += pad(d.getUTCMonth() + 1);
        break;
      case 'd':
        out += pad(d.getUTCDate());
        break;
      case 'e':
        out += String(d.getUTCDate()).padStart(2, ' ');
        break;
      case 'H':
        out += pad(d.getUTCHours());
        break;
      case 'M':
        out += pad(d.getUTCMinutes());
        break;
      case 'S':
        out += pad(d.getUTCSeconds());
        break;
      case 'ES':
        out += pad(d.getUTCSeconds()) + (digits ? `.${fraction(d).slice(0, digits)}` : '');
        break;
      case 'f':
        out += fraction(d).slice(0, digits ?? 9);
        break;
      case 's':
        out += String(Math.floor(d.getTime() / 1000));
        break;
      case 'j': {
        const start = Date.UTC(d.getUTCFullYear(), 0, 1);
        out += pad(Math.floor((d.getTime() - start) / 86_400_000) + 1, 3);
        break;
      }
      case 'a':
        out += DAYS[d.getUTCDay()];
        break;
      case 'A':
        out += LONG_DAYS[d.getUTCDay()];
        break;
      case 'b':
      case 'h':
        out += MONTHS[d.getUTCMonth()];
        break;
      case 'B':
        out += LONG_MONTHS[d.getUTCMonth()];
        break;
      case 'F':
        out += `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())}`;
        break;
      case 'T':
        out += `${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}`;
        break;
      case 'z':
        out += '+0000';
        break;
      case 'Z':
        out += 'UTC';
        break;
      case '%':
        out += '%';
        break;
      default:
        out += `%${spec}`;
    }
  }
  return out;
}
