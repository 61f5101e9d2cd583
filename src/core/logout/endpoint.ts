// Resolves the IAM Identity Center portal base URL for a region, as the service's endpoint rules do.

import { describeValue } from '../errors.js';
import { booleanOption, configError } from '../validate.js';
import { closest } from '../suggest.js';

/** One AWS partition, as the official endpoint rules describe it. */
interface Partition {
  readonly id: string;
  readonly regionRegex: RegExp;
  readonly dnsSuffix: string;
  readonly dualStackDnsSuffix: string;
  /** The regions the partition data of the SDK release this package was tested against lists. */
  readonly regions: readonly string[];
}

const words = (text: string): readonly string[] => text.split(' ');

// Order matters only for the regex fallback: the first partition whose pattern matches wins,
// exactly as in the SDK's `aws.partition` function. Unknown regions fall back to `aws`.
const PARTITIONS: readonly Partition[] = [
  {
    id: 'aws',
    regionRegex: /^(us|eu|ap|sa|ca|me|af|il|mx)-\w+-\d+$/,
    dnsSuffix: 'amazonaws.com',
    dualStackDnsSuffix: 'api.aws',
    regions: words(
      'af-south-1 ap-east-1 ap-east-2 ap-northeast-1 ap-northeast-2 ap-northeast-3 ap-south-1 ap-south-2 ap-southeast-1 ap-southeast-2 ap-southeast-3 ap-southeast-4 ap-southeast-5 ap-southeast-6 ap-southeast-7 aws-global ca-central-1 ca-west-1 eu-central-1 eu-central-2 eu-north-1 eu-south-1 eu-south-2 eu-west-1 eu-west-2 eu-west-3 il-central-1 me-central-1 me-south-1 me-west-1 mx-central-1 sa-east-1 sa-west-1 us-east-1 us-east-2 us-west-1 us-west-2',
    ),
  },
  {
    id: 'aws-cn',
    regionRegex: /^cn-\w+-\d+$/,
    dnsSuffix: 'amazonaws.com.cn',
    dualStackDnsSuffix: 'api.amazonwebservices.com.cn',
    regions: words('aws-cn-global cn-north-1 cn-northwest-1'),
  },
  {
    id: 'aws-eusc',
    regionRegex: /^eusc-(de)-\w+-\d+$/,
    dnsSuffix: 'amazonaws.eu',
    dualStackDnsSuffix: 'api.amazonwebservices.eu',
    regions: words('eusc-de-east-1'),
  },
  {
    id: 'aws-iso',
    regionRegex: /^us-iso-\w+-\d+$/,
    dnsSuffix: 'c2s.ic.gov',
    dualStackDnsSuffix: 'api.aws.ic.gov',
    regions: words('aws-iso-global us-iso-east-1 us-iso-west-1'),
  },
  {
    id: 'aws-iso-b',
    regionRegex: /^us-isob-\w+-\d+$/,
    dnsSuffix: 'sc2s.sgov.gov',
    dualStackDnsSuffix: 'api.aws.scloud',
    regions: words('aws-iso-b-global us-isob-east-1 us-isob-west-1'),
  },
  {
    id: 'aws-iso-e',
    regionRegex: /^eu-isoe-\w+-\d+$/,
    dnsSuffix: 'cloud.adc-e.uk',
    dualStackDnsSuffix: 'api.cloud-aws.adc-e.uk',
    regions: words('aws-iso-e-global eu-isoe-west-1'),
  },
  {
    id: 'aws-iso-f',
    regionRegex: /^us-isof-\w+-\d+$/,
    dnsSuffix: 'csp.hci.ic.gov',
    dualStackDnsSuffix: 'api.aws.hci.ic.gov',
    regions: words('aws-iso-f-global us-isof-east-1 us-isof-south-1'),
  },
  {
    id: 'aws-us-gov',
    regionRegex: /^us-gov-\w+-\d+$/,
    dnsSuffix: 'amazonaws.com',
    dualStackDnsSuffix: 'api.aws',
    regions: words('aws-us-gov-global us-gov-east-1 us-gov-west-1'),
  },
];

// Global pseudo-regions listed by the partition data; the SDK matches them by name before the regexes.
const NAMED_REGIONS: ReadonlyMap<string, string> = new Map([
  ['aws-global', 'aws'],
  ['aws-cn-global', 'aws-cn'],
  ['aws-iso-global', 'aws-iso'],
  ['aws-iso-b-global', 'aws-iso-b'],
  ['aws-iso-e-global', 'aws-iso-e'],
  ['aws-iso-f-global', 'aws-iso-f'],
  ['aws-us-gov-global', 'aws-us-gov'],
]);

// A region becomes part of a host name, so it must be one DNS label: this is what keeps a
// region read from a session from steering the call to another host.
const REGION_LABEL = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;

/** True when `region` can safely stand in a host name (one lower-case DNS label). */
export function isValidRegion(region: string): boolean {
  return REGION_LABEL.test(region);
}

function partitionOf(region: string): Partition {
  const byName = NAMED_REGIONS.get(region);
  const found =
    byName === undefined ? PARTITIONS.find((p) => p.regionRegex.test(region)) : PARTITIONS.find((p) => p.id === byName);
  // The endpoint rules fall back to the `aws` partition for regions they do not know.
  return found ?? (PARTITIONS[0] as Partition);
}

export interface EndpointVariant {
  readonly useFips: boolean;
  readonly useDualStack: boolean;
}

/**
 * The portal base URL (no trailing slash) for a region already checked, following the service's
 * endpoint rules: every partition supports FIPS and dual-stack; `aws-us-gov` FIPS without
 * dual-stack is the plain `portal.sso.{region}.amazonaws.com` host.
 */
export function regionalEndpoint(region: string, variant: EndpointVariant): string {
  const p = partitionOf(region);
  if (variant.useFips && variant.useDualStack) {
    return `https://portal.sso-fips.${region}.${p.dualStackDnsSuffix}`;
  }
  if (variant.useFips) {
    if (p.id === 'aws-us-gov') return `https://portal.sso.${region}.amazonaws.com`;
    return `https://portal.sso-fips.${region}.${p.dnsSuffix}`;
  }
  if (variant.useDualStack) return `https://portal.sso.${region}.${p.dualStackDnsSuffix}`;
  return `https://portal.sso.${region}.${p.dnsSuffix}`;
}

export const KNOWN_REGIONS: ReadonlySet<string> = new Set(PARTITIONS.flatMap((p) => p.regions));

/** How a configured region stands: in the partition table, only fitting a partition's pattern, or neither. */
export type RegionStanding = 'known' | 'newer' | 'unknown';

// Region names are `{area}-{direction}-{number}`; a region newer than the table still uses an area
// and a direction word some known region uses ("ap-southeast-9", "us-isof-west-1"), and numbers
// without a leading zero. That is what tells a new region from a typo ("eu-wset-1", "eu-west-01").
const REGION_PARTS = /^(.+)-([a-z]+)-([1-9]\d*)$/;
const KNOWN_AREAS = new Set<string>();
const KNOWN_DIRECTIONS = new Set<string>();
for (const known of KNOWN_REGIONS) {
  const parts = REGION_PARTS.exec(known);
  if (parts === null) continue;
  KNOWN_AREAS.add(parts[1] as string);
  KNOWN_DIRECTIONS.add(parts[2] as string);
}

function plausibleNewRegion(region: string): boolean {
  const parts = REGION_PARTS.exec(region);
  if (parts === null || !KNOWN_AREAS.has(parts[1] as string) || !KNOWN_DIRECTIONS.has(parts[2] as string)) {
    return false;
  }
  return isValidRegion(region) && PARTITIONS.some((p) => p.regionRegex.test(region));
}

export function regionStanding(region: string): RegionStanding {
  if (KNOWN_REGIONS.has(region)) return 'known';
  return plausibleNewRegion(region) ? 'newer' : 'unknown';
}

/**
 * Checks a configured region: a name the partition table knows, or one shaped like a region newer
 * than this package (a known area and direction, another number). Anything else is refused with the nearest known names,
 * since every sign-out would otherwise fail on a host that does not exist.
 */
export function checkConfiguredRegion(option: string, region: unknown): RegionStanding {
  if (typeof region === 'string' && (region.startsWith('fips-') || region.endsWith('-fips'))) {
    throw configError(
      option,
      'invalid_value',
      `\`${option}\` is "${region}": name the plain region and set \`useFipsEndpoint: true\` instead.`,
    );
  }
  const standing = typeof region === 'string' ? regionStanding(region) : 'unknown';
  if (standing !== 'unknown') return standing;
  const nearest = typeof region === 'string' ? closest(region, KNOWN_REGIONS, 3) : [];
  const hint =
    nearest.length === 0
      ? ' Regions look like "us-east-1" or "eu-west-1".'
      : ` Did you mean ${nearest.map((r) => `"${r}"`).join(' or ')}?`;
  throw configError(
    option,
    typeof region === 'string' ? 'invalid_value' : 'wrong_type',
    `\`${option}\` must be an AWS region that IAM Identity Center can be in; got ${describeValue(region)}.${hint}`,
  );
}

/** Endpoint variants, named as the client's options are. */
export interface PortalEndpointOptions {
  /** The FIPS endpoint. Default `false`. */
  readonly useFipsEndpoint?: boolean | undefined;
  /** The dual-stack (IPv6) endpoint. Default `false`. */
  readonly useDualstackEndpoint?: boolean | undefined;
}

/**
 * The IAM Identity Center portal base URL for `region` (no trailing slash), as the service's
 * endpoint rules give it. The region is checked as the client checks it.
 *
 * @example
 * portalEndpoint('eu-west-1'); // 'https://portal.sso.eu-west-1.amazonaws.com'
 * portalEndpoint('us-gov-west-1', { useFipsEndpoint: true }); // 'https://portal.sso.us-gov-west-1.amazonaws.com'
 */
export function portalEndpoint(region: string, options: PortalEndpointOptions = {}): string {
  checkConfiguredRegion('region', region);
  return regionalEndpoint(region, {
    useFips: booleanOption('useFipsEndpoint', options.useFipsEndpoint),
    useDualStack: booleanOption('useDualstackEndpoint', options.useDualstackEndpoint),
  });
}

/** A region as read from a session, made ready for an endpoint: SDK pseudo-regions resolved. */
export interface SessionRegion {
  readonly region: string;
  /** The session named a FIPS pseudo-region (`fips-us-east-1`, `us-east-1-fips`). */
  readonly fips: boolean;
}

/**
 * Normalises a region read from a session as the SDK's region resolver does: `fips-…` and `…-fips`
 * pseudo-regions become the region with FIPS on, and (beyond the SDK, which would send them as
 * they are) case and surrounding blanks are ignored, since DNS ignores them too. Undefined when
 * what remains cannot be a host label.
 */
export function normaliseSessionRegion(raw: unknown): SessionRegion | undefined {
  if (typeof raw !== 'string') return undefined;
  let region = raw.trim().toLowerCase();
  let fips = false;
  if (region === 'fips-aws-global' || region === 'aws-fips') {
    region = 'us-east-1';
    fips = true;
  } else if (region.startsWith('fips-') || region.endsWith('-fips')) {
    region = region.replace(/fips-(dkr-|prod-)?|-fips/, '');
    fips = true;
  }
  return isValidRegion(region) ? { region, fips } : undefined;
}
