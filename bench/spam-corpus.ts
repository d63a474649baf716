// A constructed, labelled spam/ham set for bench/spam-eval.ts and its test,
// for machines without the SpamAssassin public corpus. Messages are built
// from templates with a seeded random generator (same set every run):
// ham   — personal notes, work threads, mailing-list posts, newsletters
//         (multipart text+HTML with an unsubscribe link), shop receipts and
//         password-reset notices (HTML with links to the sender's own domain),
//         calendar notes; all with the headers a real MUA or service writes;
// spam  — prize/lottery, pharmacy, phishing (link text naming a bank, link to
//         elsewhere; user@host tricks), advance-fee, crypto "investment",
//         fake invoices, SEO offers, HTML-only with hidden text, and some
//         with missing or broken headers, as bulk senders produce them.
// It is small and synthetic: it checks that nothing ordinary is flagged and
// that typical spam is caught, not how the filter does on real traffic
// (for that, run the evaluation with --corpus, see spam-eval.ts).

import type { Labelled } from './spam-eval.ts';

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const FIRST = ['Anna', 'Ben', 'Carla', 'David', 'Elif', 'Farid', 'Greta', 'Hugo', 'Ines', 'Jonas', 'Keiko', 'Lars', 'Maya', 'Nils', 'Olga', 'Pablo'];
const DOMAINS = ['example.org', 'mail.example.net', 'uni-example.edu', 'firm.example.com', 'coop.example'];
const TOPICS = ['the budget review', 'our trip to Lisbon', 'the release notes', 'next week\'s workshop', 'the garden party', 'the quarterly report', 'the server migration', 'Sam\'s birthday'];
const SENTENCES = [
  'I went through the draft and left a few comments in the margin.',
  'Could you send me the latest version before Friday?',
  'The meeting moved to room 4B, same time.',
  'Thanks for sorting out the tickets, that was a great help.',
  'I think we should keep the second option, it is simpler to maintain.',
  'Let me know if Tuesday works for you, otherwise Thursday morning.',
  'The numbers look fine to me, apart from the travel line.',
  'Attached are my notes from yesterday; the action items are at the end.',
  'We still need someone to review the test plan.',
  'The kids loved the museum, we should go again in spring.',
];

const SPAM_OPENERS = [
  'Congratulations! You have been selected as the lucky winner of our international lottery.',
  'Dear friend, I am contacting you regarding unclaimed funds of 4.5 million dollars.',
  'Your account has been suspended. Verify your account within 24 hours to avoid closure.',
  'Buy cheap meds online, no prescription needed, discreet shipping worldwide.',
  'Double your income with our crypto investment programme, guaranteed returns.',
  'Make money fast working from home, no experience needed.',
  'Limited time offer: best price on luxury watches, order now.',
  'Your invoice is overdue. Pay immediately to avoid legal action.',
  'We can put your website on the first page of Google, risk free.',
  'Lose weight fast with this miracle cure doctors do not want you to know.',
];

function pick<T>(r: () => number, a: readonly T[]): T {
  return a[Math.floor(r() * a.length)];
}

function date(r: () => number): string {
  const d = new Date(Date.UTC(2025, Math.floor(r() * 12), 1 + Math.floor(r() * 28), Math.floor(r() * 24), Math.floor(r() * 60)));
  return d.toUTCString().replace('GMT', '+0000');
}

function msg(headers: Array<[string, string]>, body: string): Buffer {
  return Buffer.from(headers.map(([k, v]) => `${k}: ${v}`).join('\r\n') + '\r\n\r\n' + body.replace(/\r?\n/g, '\r\n') + '\r\n', 'utf8');
}

function ham(r: () => number, i: number): Buffer {
  const who = pick(r, FIRST);
  const dom = pick(r, DOMAINS);
  const from = `${who} Example <${who.toLowerCase()}@${dom}>`;
  const base: Array<[string, string]> = [
    ['From', from],
    ['To', 'alice@example.org'],
    ['Date', date(r)],
    ['Message-ID', `<h${i}.${Math.floor(r() * 1e9)}@${dom}>`],
  ];
  const kind = i % 6;
  const sentences = Array.from({ length: 3 + Math.floor(r() * 4) }, () => pick(r, SENTENCES)).join(' ');
  if (kind === 0) return msg([...base, ['Subject', `About ${pick(r, TOPICS)}`]], `Hi Alice,\n\n${sentences}\n\nBest,\n${who}`);
  if (kind === 1) return msg([...base, ['Subject', `Re: ${pick(r, TOPICS)}`], ['In-Reply-To', `<x${i}@example.org>`]], `${sentences}\n\n> On Monday you wrote:\n> ${pick(r, SENTENCES)}\n\n${who}`);
  if (kind === 2)
    return msg([...base, ['Subject', `[dev-list] ${pick(r, TOPICS)}`], ['List-Id', '<dev.lists.example.org>'], ['List-Unsubscribe', '<mailto:dev-leave@lists.example.org>']], `${sentences}\n\nPatch: https://git.example.org/commit/${i.toString(16)}\n-- \ndev mailing list\nhttps://lists.example.org/dev`);
  if (kind === 3) {
    const html = `<html><body><h1>Newsletter ${i}</h1><p>${sentences}</p><p><a href="https://news.${dom}/issue/${i}">Read online</a> · <a href="https://news.${dom}/unsubscribe">Unsubscribe</a></p></body></html>`;
    return msg(
      [...base, ['Subject', `Our ${pick(r, ['monthly', 'weekly'])} newsletter: ${pick(r, TOPICS)}`], ['MIME-Version', '1.0'], ['Content-Type', 'multipart/alternative; boundary="nl"']],
      `--nl\nContent-Type: text/plain; charset=utf-8\n\nNewsletter ${i}\n\n${sentences}\n\nRead online: https://news.${dom}/issue/${i}\n--nl\nContent-Type: text/html; charset=utf-8\n\n${html}\n--nl--`,
    );
  }
  if (kind === 4) {
    const total = (10 + r() * 200).toFixed(2);
    return msg(
      [...base, ['From', `Shop <orders@shop.${dom}>`], ['Subject', `Your order #${1000 + i} has shipped`], ['MIME-Version', '1.0'], ['Content-Type', 'multipart/alternative; boundary="o"']],
      `--o\nContent-Type: text/plain\n\nThank you for your order. Total: EUR ${total}.\nTrack it at https://shop.${dom}/track/${i}\n--o\nContent-Type: text/html\n\n<p>Thank you for your order. Total: EUR ${total}.</p><p><a href="https://shop.${dom}/track/${i}">shop.${dom}/track/${i}</a></p>\n--o--`,
    );
  }
  return msg([...base, ['Subject', `Password reset for your ${dom} account`]], `Someone asked to reset the password of your account.\nIf it was you, open https://accounts.${dom}/reset?t=${i}${Math.floor(r() * 1e6)} within one hour.\nIf not, ignore this message.\n\n-- The ${dom} team`);
}

function spam(r: () => number, i: number): Buffer {
  const dom = `${pick(r, ['promo', 'deals', 'win', 'secure-login', 'pharma', 'invest'])}${Math.floor(r() * 1000)}.example`;
  const opener = pick(r, SPAM_OPENERS);
  const kind = i % 5;
  const headers: Array<[string, string]> = [
    ['From', `${pick(r, ['Customer Service', 'Prize Department', 'Dr. James', 'Security Team', 'Best Deals'])} <${pick(r, ['info', 'noreply', 'support'])}@${dom}>`],
    ['To', 'alice@example.org'],
  ];
  if (r() < 0.6) headers.push(['Date', date(r)]);
  if (r() < 0.5) headers.push(['Message-ID', r() < 0.5 ? `<${i}@${dom}>` : `${i}.${dom}`]);
  const subject = pick(r, ['YOU ARE A WINNER!!!', 'Urgent response needed', 'Account suspended', 'Cheap meds - 80% off', 'Invest now, double your money!!', 'Work from home', 'Invoice overdue', 'Claim your prize']);
  headers.push(['Subject', subject]);
  const link = kind === 2 ? `http://paypal.com@${dom}/verify` : r() < 0.4 ? `http://198.51.100.${i % 250}/${dom}` : `http://${dom}/claim?id=${i}`;
  const linkText = kind === 2 ? 'https://www.paypal.com/verify' : pick(r, ['CLICK HERE NOW', 'Click here', 'Claim your prize', 'Order now', 'Verify your account']);
  if (kind === 0 || kind === 3) {
    return msg(headers, `${opener}\n\n${pick(r, SPAM_OPENERS)}\n\nVisit ${link} to continue. Act now!\n`);
  }
  headers.push(['MIME-Version', '1.0'], ['Content-Type', 'text/html; charset=utf-8']);
  const hidden = kind === 4 ? `<div style="display:none">${Array.from({ length: 8 }, () => pick(r, SENTENCES)).join(' ')}</div>` : '';
  return msg(headers, `<html><body><p>${opener}</p>${hidden}<p><a href="${link}">${linkText}</a></p><p>${pick(r, SPAM_OPENERS).toUpperCase()}</p></body></html>`);
}

export function constructedCorpus(size = 300, seed = 8): Labelled[] {
  const r = rng(seed);
  const out: Labelled[] = [];
  for (let i = 0; i < size; i++) {
    out.push({ id: `ham/${i}`, group: 'ham', spam: false, content: ham(r, i) });
    out.push({ id: `spam/${i}`, group: 'spam', spam: true, content: spam(r, i) });
  }
  return out;
}
