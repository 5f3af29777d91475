// docker's prompt.Confirm: `MESSAGE [y/N] `, then one line of input; only `y`/`Y` (spaces and a
// trailing CR trimmed) is yes; end of input declines.
export async function confirm(message: string, input: NodeJS.ReadableStream = process.stdin, out: NodeJS.WritableStream = process.stdout): Promise<boolean> {
  out.write(`${message} [y/N] `);
  const line = await new Promise<string>((resolve) => {
    let buf = '';
    const done = (s: string) => {
      input.off('data', onData);
      input.off('end', onEnd);
      input.off('error', onEnd);
      input.pause();
      resolve(s);
    };
    const onData = (d: Buffer | string) => {
      buf += d.toString();
      const nl = buf.indexOf('\n');
      if (nl >= 0) done(buf.slice(0, nl));
    };
    const onEnd = () => done(buf);
    input.on('data', onData);
    input.once('end', onEnd);
    input.once('error', onEnd);
    input.resume();
  });
  return line.replace(/\r$/, '').trim().toLowerCase() === 'y';
}
