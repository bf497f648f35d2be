// A process that applies one large script with execNft and a given nft binary, for a test to kill
// while the apply is under way: `apply-child.ts NFT BYTES`. Prints the script's length, then "applied".
import { execNft } from '../../../lib/nft/runner.ts';

const [nft, bytes] = process.argv.slice(2);
const line = 'add element ip sluice cluster-ips { 10.96.0.1 }\n';
const script = line.repeat(Math.ceil(Number(bytes) / line.length));
process.stdout.write(`${script.length}\n`);
await execNft({ nft }).apply(script);
process.stdout.write('applied\n');
