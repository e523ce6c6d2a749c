// The call-out: a two-tone chime (WebAudio) and a spoken "Serial 14, room 3". Browsers only allow sound after
// a click, so it starts muted and a button turns it on; the choice is remembered on this screen.
const KEY = 'carequeue.sound';
let context: AudioContext | null = null;

export function soundOn(): boolean {
  return localStorage.getItem(KEY) === 'on';
}

export function setSound(on: boolean): void {
  localStorage.setItem(KEY, on ? 'on' : 'off');
  if (on) {
    context ??= new AudioContext();
    void context.resume();
  }
}

function chime(): void {
  if (!context) context = new AudioContext();
  if (context.state === 'suspended') void context.resume();
  const now = context.currentTime;
  for (const [i, freq] of [880, 660].entries()) {
    const osc = context.createOscillator();
    const gain = context.createGain();
    osc.frequency.value = freq;
    osc.type = 'sine';
    gain.gain.setValueAtTime(0.0001, now + i * 0.45);
    gain.gain.exponentialRampToValueAtTime(0.4, now + i * 0.45 + 0.03);
    gain.gain.exponentialRampToValueAtTime(0.0001, now + i * 0.45 + 0.8);
    osc.connect(gain).connect(context.destination);
    osc.start(now + i * 0.45);
    osc.stop(now + i * 0.45 + 0.85);
  }
}

export function announce(serial: number, room: string | null | undefined): void {
  if (!soundOn()) return;
  try {
    chime();
  } catch {
    // No audio device: the visual flash still shows the call.
  }
  if ('speechSynthesis' in window) {
    const text = room ? `Serial ${serial}, room ${room}` : `Serial ${serial}`;
    const utterance = new SpeechSynthesisUtterance(text);
    utterance.rate = 0.9;
    window.setTimeout(() => window.speechSynthesis.speak(utterance), 900);
  }
}
