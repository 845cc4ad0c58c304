/**
 * @module quorum/words
 * The PGP word list (Juola and Zimmermann, 1995; the list PGPfone, ZRTP and ICANN's
 * `kskm-sha2wordlist` use) and {@link digestWords}, which turns a digest into words a person reads
 * aloud. Two tables alternate by byte position (even offsets: two-syllable words; odd offsets:
 * three-syllable words), so a swapped, doubled or dropped word is audible. The tables are embedded
 * data, pinned by {@link PGP_WORD_LIST_SHA256} (a test recomputes it and checks the published
 * example from the list's description).
 *
 * Must never: be localised or re-cased. Both sides of a read-aloud comparison must print the same
 * words.
 */
import { CoreError } from '../errors.ts';

/* Byte value -> word, eight per line; the comment is the first byte value of the line. */
const EVEN_TEXT = `
  aardvark absurd accrue acme adrift adult afflict ahead // 00
  aimless Algol allow alone ammo ancient apple artist // 08
  assume Athens atlas Aztec baboon backfield backward banjo // 10
  beaming bedlamp beehive beeswax befriend Belfast berserk billiard // 18
  bison blackjack blockade blowtorch bluebird bombast bookshelf brackish // 20
  breadline breakup brickyard briefcase Burbank button buzzard cement // 28
  chairlift chatter checkup chisel choking chopper Christmas clamshell // 30
  classic classroom cleanup clockwork cobra commence concert cowbell // 38
  crackdown cranky crowfoot crucial crumpled crusade cubic dashboard // 40
  deadbolt deckhand dogsled dragnet drainage dreadful drifter dropper // 48
  drumbeat drunken Dupont dwelling eating edict egghead eightball // 50
  endorse endow enlist erase escape exceed eyeglass eyetooth // 58
  facial fallout flagpole flatfoot flytrap fracture framework freedom // 60
  frighten gazelle Geiger glitter glucose goggles goldfish gremlin // 68
  guidance hamlet highchair hockey indoors indulge inverse involve // 70
  island jawbone keyboard kickoff kiwi klaxon locale lockup // 78
  merit minnow miser Mohawk mural music necklace Neptune // 80
  newborn nightbird Oakland obtuse offload optic orca payday // 88
  peachy pheasant physique playhouse Pluto preclude prefer preshrunk // 90
  printer prowler pupil puppy python quadrant quiver quota // 98
  ragtime ratchet rebirth reform regain reindeer rematch repay // a0
  retouch revenge reward rhythm ribcage ringbolt robust rocker // a8
  ruffled sailboat sawdust scallion scenic scorecard Scotland seabird // b0
  select sentence shadow shamrock showgirl skullcap skydive slingshot // b8
  slowdown snapline snapshot snowcap snowslide solo southward soybean // c0
  spaniel spearhead spellbind spheroid spigot spindle spyglass stagehand // c8
  stagnate stairway standard stapler steamship sterling stockman stopwatch // d0
  stormy sugar surmount suspense sweatband swelter tactics talon // d8
  tapeworm tempest tiger tissue tonic topmost tracker transit // e0
  trauma treadmill Trojan trouble tumor tunnel tycoon uncut // e8
  unearth unwind uproot upset upshot vapor village virus // f0
  Vulcan waffle wallet watchword wayside willow woodlark Zulu // f8
`;

const ODD_TEXT = `
  adroitness adviser aftermath aggregate alkali almighty amulet amusement // 00
  antenna applicant Apollo armistice article asteroid Atlantic atmosphere // 08
  autopsy Babylon backwater barbecue belowground bifocals bodyguard bookseller // 10
  borderline bottomless Bradbury bravado Brazilian breakaway Burlington businessman // 18
  butterfat Camelot candidate cannonball Capricorn caravan caretaker celebrate // 20
  cellulose certify chambermaid Cherokee Chicago clergyman coherence combustion // 28
  commando company component concurrent confidence conformist congregate consensus // 30
  consulting corporate corrosion councilman crossover crucifix cumbersome customer // 38
  Dakota decadence December decimal designing detector detergent determine // 40
  dictator dinosaur direction disable disbelief disruptive distortion document // 48
  embezzle enchanting enrollment enterprise equation equipment escapade Eskimo // 50
  everyday examine existence exodus fascinate filament finicky forever // 58
  fortitude frequency gadgetry Galveston getaway glossary gossamer graduate // 60
  gravity guitarist hamburger Hamilton handiwork hazardous headwaters hemisphere // 68
  hesitate hideaway holiness hurricane hydraulic impartial impetus inception // 70
  indigo inertia infancy inferno informant insincere insurgent integrate // 78
  intention inventive Istanbul Jamaica Jupiter leprosy letterhead liberty // 80
  maritime matchmaker maverick Medusa megaton microscope microwave midsummer // 88
  millionaire miracle misnomer molasses molecule Montana monument mosquito // 90
  narrative nebula newsletter Norwegian October Ohio onlooker opulent // 98
  Orlando outfielder Pacific pandemic Pandora paperweight paragon paragraph // a0
  paramount passenger pedigree Pegasus penetrate perceptive performance pharmacy // a8
  phonetic photograph pioneer pocketful politeness positive potato processor // b0
  provincial proximate puberty publisher pyramid quantity racketeer rebellion // b8
  recipe recover repellent replica reproduce resistor responsive retraction // c0
  retrieval retrospect revenue revival revolver sandalwood sardonic Saturday // c8
  savagery scavenger sensation sociable souvenir specialist speculate stethoscope // d0
  stupendous supportive surrender suspicious sympathy tambourine telephone therapist // d8
  tobacco tolerance tomorrow torpedo tradition travesty trombonist truncated // e0
  typewriter ultimate undaunted underfoot unicorn unify universe unravel // e8
  upcoming vacancy vagabond vertigo Virginia visitor vocalist voyager // f0
  warranty Waterloo whimsical Wichita Wilmington Wyoming yesteryear Yucatan // f8
`;

const parse = (text: string): readonly string[] => Object.freeze(text.replace(/\/\/ [0-9a-f]{2}/gu, '').split(/\s+/u).filter((w) => w !== ''));

/** The 256 two-syllable words, for bytes at even offsets (0, 2, 4, …). */
export const PGP_EVEN_WORDS: readonly string[] = parse(EVEN_TEXT);
/** The 256 three-syllable words, for bytes at odd offsets (1, 3, 5, …). */
export const PGP_ODD_WORDS: readonly string[] = parse(ODD_TEXT);

/** SHA-256 of the even words then the odd words, each followed by a newline except the last; pins the embedded tables against typos. */
export const PGP_WORD_LIST_SHA256 = 'e9b7b0052233a74aa56724ed3f79c272036aed68d8f4c0856e833c8043b9ac62';

/**
 * The PGP words for a hex string (case-insensitive, optional `:` or space separators), one word per
 * byte. A SHA-256 gives 32 words.
 * @throws {CoreError} ERR_INPUT_INVALID when `hex` is not an even-length hex string (max 64 bytes)
 */
export function digestWords(hex: string): string[] {
  const clean = hex.replace(/[\s:]/gu, '');
  if (clean.length === 0 || clean.length % 2 !== 0 || clean.length > 128 || !/^[0-9a-fA-F]+$/u.test(clean)) {
    throw new CoreError('ERR_INPUT_INVALID', 'a digest must be an even number of hexadecimal digits (at most 64 bytes), e.g. the 64-digit SHA-256 shown by the ceremony');
  }
  const bytes = Buffer.from(clean, 'hex');
  return [...bytes].map((b, i) => (i % 2 === 0 ? PGP_EVEN_WORDS[b] : PGP_ODD_WORDS[b]) as string);
}

/** Words grouped for display, four per line with the byte offset (`00  topmost Istanbul …`). */
export function formatDigestWords(hex: string): string {
  const words = digestWords(hex);
  const lines: string[] = [];
  for (let i = 0; i < words.length; i += 4) lines.push(`${i.toString().padStart(2, '0')}  ${words.slice(i, i + 4).join(' ')}`);
  return lines.join('\n');
}
